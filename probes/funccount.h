/* SPDX-License-Identifier: GPL-2.0 */
/* funccount: types shared by probes/funccount.bpf.c and cmd/funccount.c. */
#ifndef KT_FUNCCOUNT_H
#define KT_FUNCCOUNT_H

#include "kt_common.h"

/* Functions counted at most (one probe each). */
#define FUNCCOUNT_MAX 1000

#endif
