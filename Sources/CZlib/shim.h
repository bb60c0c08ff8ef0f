// zlib, for reading gzip-compressed data sets (the bundled digits set, MNIST IDX files) in LandauerTraining.
#ifndef LANDAUER_CZLIB_SHIM_H
#define LANDAUER_CZLIB_SHIM_H
#include <zlib.h>
#endif
