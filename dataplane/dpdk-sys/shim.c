/* Hand-written C that bindgen's static-fn wrappers cannot provide. */
#include <rte_errno.h>

int mrouter_rte_errno(void)
{
	return rte_errno;
}
