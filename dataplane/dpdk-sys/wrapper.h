/* Headers bindgen reads; every token of `pkg-config --cflags libdpdk` is passed too. */
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_launch.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_bus_vdev.h>
#include <rte_telemetry.h>
#include <rte_pdump.h>

/* rte_errno is a __thread variable: Rust cannot read it, so a getter lives in shim.c. */
int mrouter_rte_errno(void);
/* The memif driver's control-channel lock of `port` (DPDK 22.11 layout, checked against the
 * port's id, role and socket), or NULL: see shim.c. */
volatile int *mrouter_memif_cc_lock(uint16_t port, uint32_t id, int server, const char *socket);
