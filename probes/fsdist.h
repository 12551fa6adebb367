/* SPDX-License-Identifier: GPL-2.0 */
/* fsdist: types shared by probes/fsdist.bpf.c and cmd/fsdist.c. */
#ifndef KT_FSDIST_H
#define KT_FSDIST_H

#include "kt_fs.h"

/* histograms at once: (operation, file-system type) pairs */
#define FSDIST_MAX_HISTS 1024

struct fsdist_key {
	__u32 op; /* enum kt_fs_op (an open that created counts as an open) */
	char fstype[KT_FS_TYPE_MAX];
};

#endif
