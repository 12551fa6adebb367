/* SPDX-License-Identifier: GPL-2.0 */
/* fsslower: its records are struct kt_fs_event (lib/kt_fs.h). */
#ifndef KT_FSSLOWER_H
#define KT_FSSLOWER_H

#include "kt_fs.h"

#endif
