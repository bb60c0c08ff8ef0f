// libserialport (sigrok), for the serial-port transport and port enumeration in LandauerDrivers.
#ifndef LANDAUER_CLIBSERIALPORT_SHIM_H
#define LANDAUER_CLIBSERIALPORT_SHIM_H
#include <libserialport.h>
#endif
