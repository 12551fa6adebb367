/* SPDX-License-Identifier: GPL-2.0 */
/* fsops: its records are struct kt_fs_event (lib/kt_fs.h). */
#ifndef KT_FSOPS_H
#define KT_FSOPS_H

#include "kt_fs.h"

#endif
