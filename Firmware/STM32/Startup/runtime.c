// The C library functions the Swift code and the compiler's lowering call, written for Landauer:
// memory copies and fills (plain and ARM EABI forms) and the allocation entry points, which
// forward to the allocator in Port/Heap.swift. Nothing else of a C library is linked; 64-bit
// division and soft double arithmetic come from libgcc.
//
// Compiled with -ffreestanding -fno-builtin so these loops are not turned back into calls to
// themselves.

#include <stddef.h>
#include <stdint.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    // Word copies when both pointers share their alignment; the Cortex-M4 also allows unaligned
    // word access, but aligned access is faster and never faults on strict configurations.
    if ((((uintptr_t)d ^ (uintptr_t)s) & 3u) == 0) {
        while (n && ((uintptr_t)d & 3u)) {
            *d++ = *s++;
            --n;
        }
        uint32_t *dw = (uint32_t *)d;
        const uint32_t *sw = (const uint32_t *)s;
        for (; n >= 16; n -= 16) {
            dw[0] = sw[0];
            dw[1] = sw[1];
            dw[2] = sw[2];
            dw[3] = sw[3];
            dw += 4;
            sw += 4;
        }
        for (; n >= 4; n -= 4) {
            *dw++ = *sw++;
        }
        d = (uint8_t *)dw;
        s = (const uint8_t *)sw;
    }
    while (n--) {
        *d++ = *s++;
    }
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d == s || n == 0) {
        return dst;
    }
    if (d < s || d >= s + n) {
        return memcpy(dst, src, n);  // no overlap that a forward copy would spoil
    }
    d += n;
    s += n;
    while (n--) {
        *--d = *--s;
    }
    return dst;
}

void *memset(void *dst, int value, size_t n) {
    uint8_t *d = dst;
    uint8_t b = (uint8_t)value;
    while (n && ((uintptr_t)d & 3u)) {
        *d++ = b;
        --n;
    }
    uint32_t w = b * 0x01010101u;
    uint32_t *dw = (uint32_t *)d;
    for (; n >= 4; n -= 4) {
        *dw++ = w;
    }
    d = (uint8_t *)dw;
    while (n--) {
        *d++ = b;
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = a;
    const uint8_t *y = b;
    for (; n; --n, ++x, ++y) {
        if (*x != *y) {
            return (int)*x - (int)*y;
        }
    }
    return 0;
}

// ARM run-time ABI (IHI 0043) aliases. Note the argument order of __aeabi_memset: (dest, n, c).
void __aeabi_memcpy(void *d, const void *s, size_t n) { memcpy(d, s, n); }
void __aeabi_memcpy4(void *d, const void *s, size_t n) { memcpy(d, s, n); }
void __aeabi_memcpy8(void *d, const void *s, size_t n) { memcpy(d, s, n); }
void __aeabi_memmove(void *d, const void *s, size_t n) { memmove(d, s, n); }
void __aeabi_memmove4(void *d, const void *s, size_t n) { memmove(d, s, n); }
void __aeabi_memmove8(void *d, const void *s, size_t n) { memmove(d, s, n); }
void __aeabi_memset(void *d, size_t n, int c) { memset(d, c, n); }
void __aeabi_memset4(void *d, size_t n, int c) { memset(d, c, n); }
void __aeabi_memset8(void *d, size_t n, int c) { memset(d, c, n); }
void __aeabi_memclr(void *d, size_t n) { memset(d, 0, n); }
void __aeabi_memclr4(void *d, size_t n) { memset(d, 0, n); }
void __aeabi_memclr8(void *d, size_t n) { memset(d, 0, n); }

// Allocation: Embedded Swift's runtime calls posix_memalign and free.
void *landauer_heap_allocate(size_t count, size_t alignment);
void landauer_heap_release(void *pointer);

int posix_memalign(void **result, size_t alignment, size_t count) {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment % sizeof(void *) != 0) {
        return 22;  // EINVAL
    }
    void *p = landauer_heap_allocate(count, alignment);
    if (p == NULL) {
        return 12;  // ENOMEM
    }
    *result = p;
    return 0;
}

void *malloc(size_t count) { return landauer_heap_allocate(count, 8); }

void free(void *pointer) { landauer_heap_release(pointer); }
