/*
 * model/threads.c — sets OpenMP and OpenBLAS thread counts together (threads.h).
 */
#include "model/threads.h"

#include <cblas.h>
#include <omp.h>
#include <unistd.h>

int threads_set(int n)
{
	if (n <= 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		n = c > 0 ? (int)c : 1;
	}
	omp_set_num_threads(n);
	openblas_set_num_threads(n);
	return n;
}

int threads_get(void)
{
	return omp_get_max_threads();
}
