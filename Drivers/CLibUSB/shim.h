// libusb 1.0, for USB enumeration and bulk-endpoint transfers (USBTMC) in LandauerDrivers.
#ifndef LANDAUER_CLIBUSB_SHIM_H
#define LANDAUER_CLIBUSB_SHIM_H
#include <libusb.h>
#endif
