// Reset and exception entry for the STM32F405 (Cortex-M4F), written for Landauer.
//
// The vector table sits at the start of flash (0x08000000, aliased at 0 when booting from main
// flash). The reset handler enables the FPU, copies initialised data from flash to SRAM, zeroes
// .bss, runs static constructors if any, and calls the Swift entry point `landauer_main`, which
// never returns. Every other exception and interrupt defaults to `landauer_unhandled`, which
// parks the core; the port overrides the ones it uses (SysTick, USART1) with strong symbols.
//
// Freestanding C: compiled with -ffreestanding -fno-builtin, no library is linked but libgcc.

#include <stdint.h>

// Symbols from the linker script (STM32F405.ld).
extern uint32_t __data_load[];    // where .data's initial image lies in flash
extern uint32_t __data_start[];   // .data in SRAM
extern uint32_t __data_end[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];
extern uint32_t __stack_top[];    // initial main stack pointer (top of SRAM)
extern uint8_t __heap_start[];    // SRAM between .bss and the stack, for Port/Heap.swift
extern uint8_t __heap_end[];
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

// The Swift side of the port (Port/Entry.swift of each image).
extern void landauer_main(void) __attribute__((noreturn));

void landauer_reset(void) __attribute__((noreturn));
void landauer_unhandled(void);
void landauer_hard_fault(void);

// Coprocessor access control register: CP10 and CP11 (the FPU) in bits 20–23.
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

void landauer_reset(void) {
    // Full access to CP10/CP11 before any floating-point instruction runs (the Swift code uses
    // VFP registers for Float and moves of Double).
    SCB_CPACR |= (0xFu << 20);
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    // Word copies: the linker script aligns both ends of .data and .bss to 4 bytes.
    uint32_t *src = __data_load;
    for (uint32_t *dst = __data_start; dst < __data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = __bss_start; dst < __bss_end;) {
        *dst++ = 0;
    }
    for (void (**init)(void) = __init_array_start; init < __init_array_end; ++init) {
        (*init)();
    }
    landauer_main();
}

void landauer_unhandled(void) {
    for (;;) {
        __asm__ volatile("wfi");
    }
}

// Faults park the core too, but under a name of their own so a debugger's backtrace says what
// happened (a Swift trap — overflow, bounds, unwrap of nil — ends here as a HardFault).
void landauer_hard_fault(void) {
    for (;;) {
        __asm__ volatile("bkpt #0\n\twfi");
    }
}

#define WEAK_DEFAULT __attribute__((weak, alias("landauer_unhandled")))

void NMI_Handler(void) WEAK_DEFAULT;
void MemManage_Handler(void) WEAK_DEFAULT;
void BusFault_Handler(void) WEAK_DEFAULT;
void UsageFault_Handler(void) WEAK_DEFAULT;
void SVC_Handler(void) WEAK_DEFAULT;
void DebugMon_Handler(void) WEAK_DEFAULT;
void PendSV_Handler(void) WEAK_DEFAULT;
void SysTick_Handler(void) WEAK_DEFAULT;
void USART1_IRQHandler(void) WEAK_DEFAULT;

typedef void (*vector_t)(void);

// 16 system exceptions, then the STM32F405's 82 interrupt lines (RM0090, table 61). Only the
// lines the firmware uses are named; the others point at the default handler.
#define IRQ_LINES 82
#define USART1_IRQ 37

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winitializer-overrides"  // the named lines override the default range
__attribute__((section(".vectors"), used))
const vector_t landauer_vectors[16 + IRQ_LINES] = {
    [0] = (vector_t)__stack_top,
    [1] = landauer_reset,
    [2] = NMI_Handler,
    [3] = landauer_hard_fault,
    [4] = MemManage_Handler,
    [5] = BusFault_Handler,
    [6] = UsageFault_Handler,
    [7 ... 10] = 0,  // reserved
    [11] = SVC_Handler,
    [12] = DebugMon_Handler,
    [13] = 0,  // reserved
    [14] = PendSV_Handler,
    [15] = SysTick_Handler,
    [16 ... 16 + IRQ_LINES - 1] = landauer_unhandled,
    [16 + USART1_IRQ] = USART1_IRQHandler,
};
#pragma clang diagnostic pop

// The heap region, for the Swift allocator (Port/Heap.swift).
uintptr_t landauer_heap_start(void) { return (uintptr_t)__heap_start; }
uintptr_t landauer_heap_end(void) { return (uintptr_t)__heap_end; }

// Interrupt masking and sleep, for the Swift side (Port/Interrupts.swift).
void landauer_interrupts_disable(void) { __asm__ volatile("cpsid i" ::: "memory"); }
void landauer_interrupts_enable(void) { __asm__ volatile("cpsie i" ::: "memory"); }
// Waits for an interrupt. Called with interrupts masked: a pending interrupt still wakes the
// core, so an interrupt that arrived after the caller's last check is never slept through.
void landauer_wait_for_interrupt(void) { __asm__ volatile("dsb\n\twfi" ::: "memory"); }
