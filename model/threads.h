/*
 * model/threads.h — one knob for the number of compute threads.
 *
 * The model parallelises in two ways: OpenBLAS's own threads inside a large
 * GEMM, and our OpenMP loops (rows of an element-wise kernel, (batch, head)
 * pairs of attention).  OpenBLAS here is the OpenMP build, so both draw on the
 * same OpenMP pool; setting the two counts together keeps them from
 * oversubscribing the cores.
 */
#ifndef RLHFD_MODEL_THREADS_H
#define RLHFD_MODEL_THREADS_H

/* Sets the thread count for OpenMP and OpenBLAS.  n <= 0 means the number of
 * online CPUs.  Returns the count in effect.  OpenBLAS's count is global, but
 * OpenMP's is a per-thread setting: call this in the thread that runs the
 * model (e.g. the worker thread), not only in main. */
int threads_set(int n);

/* The thread count in effect (OpenMP's max threads). */
int threads_get(void);

#endif
