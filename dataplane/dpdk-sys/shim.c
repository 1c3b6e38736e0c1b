/* Hand-written C that bindgen's static-fn wrappers cannot provide. */
#include <rte_errno.h>

int mrouter_rte_errno(void)
{
	return rte_errno;
}

/*
 * The memif driver's per-device control-channel lock (issue 18).
 *
 * DPDK 22.11's memif driver tears a connection down (memif_disconnect: the peer closed its
 * socket, sent a disconnect, or the port is stopped) by clearing its CONNECTED flag, taking
 * and releasing `pmd->cc_lock`, and then unmapping the shared memory and freeing the region
 * structs. Its rx/tx burst functions check CONNECTED once on entry and then use that memory
 * with no lock: a worker inside a burst when the teardown runs (in EAL's interrupt thread)
 * reads or writes unmapped memory. A burst made while holding `cc_lock` cannot overlap the
 * unmapping: the teardown waits for the lock, and a burst that takes it after the teardown
 * released it sees CONNECTED cleared and returns at once.
 *
 * Neither struct is installed (ethdev_driver.h, drivers/net/memif/rte_eth_memif.h), so their
 * heads are declared here as DPDK 22.11 lays them out, and every step is checked against
 * what the caller knows of the port; NULL when anything does not match.
 */
#include <string.h>
#include <rte_ethdev.h>
#include <rte_memory.h>
#include <rte_memzone.h>
#include <rte_spinlock.h>
#include <rte_version.h>

/* The head of ethdev's struct rte_eth_dev_data (DPDK 22.11). */
struct mrouter_eth_dev_data_head {
	char name[RTE_ETH_NAME_MAX_LEN];
	void **rx_queues;
	void **tx_queues;
	uint16_t nb_rx_queues;
	uint16_t nb_tx_queues;
	struct rte_eth_dev_sriov sriov;
	void *dev_private;
};

/* The head of the memif driver's struct pmd_internals (DPDK 22.11). */
struct mrouter_memif_pmd_head {
	uint32_t id;
	int role; /* enum memif_role_t: 0 server, 1 client */
	uint32_t flags;
	const char *socket_filename;
	char secret[24];
	void *cc;
	rte_spinlock_t cc_lock;
};

#define MROUTER_MEMIF_SOCKET_MAX 108 /* sizeof(sun_path) */

static int
mrouter_in_dpdk_memory(const void *p)
{
	return p != NULL && rte_mem_virt2memseg(p, NULL) != NULL;
}

volatile int *
mrouter_memif_cc_lock(uint16_t port, uint32_t id, int server, const char *socket)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	const struct rte_memzone *mz;
	const char *p, *end;

	if (strncmp(rte_version(), "DPDK 22.11", 10) != 0)
		return NULL;
	if (rte_eth_dev_get_name_by_port(port, name) != 0)
		return NULL;
	mz = rte_memzone_lookup("rte_eth_dev_data");
	if (mz == NULL || mz->addr == NULL)
		return NULL;
	/* The shared array of struct rte_eth_dev_data, each entry cache-line aligned. */
	p = mz->addr;
	end = p + mz->len;
	for (p = RTE_PTR_ALIGN_CEIL(p, RTE_CACHE_LINE_SIZE);
	     p + sizeof(struct mrouter_eth_dev_data_head) <= end; p += RTE_CACHE_LINE_SIZE) {
		const struct mrouter_eth_dev_data_head *d = (const void *)p;
		const struct mrouter_memif_pmd_head *pmd;

		if (strncmp(d->name, name, sizeof(name)) != 0)
			continue;
		pmd = d->dev_private;
		if (!mrouter_in_dpdk_memory(pmd) ||
		    !mrouter_in_dpdk_memory((const char *)pmd + sizeof(*pmd) - 1))
			return NULL;
		if (pmd->id != id || pmd->role != (server ? 0 : 1))
			return NULL;
		if (!mrouter_in_dpdk_memory(pmd->socket_filename) ||
		    strncmp(pmd->socket_filename, socket, MROUTER_MEMIF_SOCKET_MAX) != 0)
			return NULL;
		if (memchr(pmd->secret, 0, sizeof(pmd->secret)) == NULL)
			return NULL;
		if (pmd->cc_lock.locked != 0 && pmd->cc_lock.locked != 1)
			return NULL;
		return (volatile int *)&((struct mrouter_memif_pmd_head *)pmd)->cc_lock.locked;
	}
	return NULL;
}
