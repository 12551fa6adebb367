# BPF objects and their skeletons.
#
# vmlinux.h is generated at build time from KT_VMLINUX_BTF. Each
# probes/NAME.bpf.c becomes NAME.debug.bpf.o (clang -target bpf -g), then
# NAME.bpf.o (bpftool gen object: libbpf's static linker, which keeps .BTF
# and .BTF.ext for CO-RE and drops the DWARF, 85-90 % of the object), then
# NAME.skel.h (bpftool gen skeleton, rewritten by bpf_embed.cmake), which
# cmd/NAME.c includes; the stripped objects, gzip-compressed, are what the
# ktrace binary embeds (core/bpfz.c unpacks one when its command runs).

find_program(KT_CLANG NAMES clang clang-14 REQUIRED)
find_program(KT_BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)
find_program(KT_GZIP NAMES gzip REQUIRED)

set(KT_VMLINUX_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH
	"BTF file that vmlinux.h is generated from")
set(KT_GEN_DIR ${CMAKE_BINARY_DIR}/gen)
file(MAKE_DIRECTORY ${KT_GEN_DIR})

add_custom_command(OUTPUT ${KT_GEN_DIR}/vmlinux.h
	COMMAND ${KT_BPFTOOL} btf dump file ${KT_VMLINUX_BTF} format c > ${KT_GEN_DIR}/vmlinux.h.tmp
	COMMAND ${CMAKE_COMMAND} -E rename ${KT_GEN_DIR}/vmlinux.h.tmp ${KT_GEN_DIR}/vmlinux.h
	COMMENT "Generating vmlinux.h from ${KT_VMLINUX_BTF}"
	VERBATIM)

set(KT_BPF_FLAGS -O2 -g -target bpf -D__TARGET_ARCH_x86 -Wall -Wextra
	-Wno-unused-parameter -Wno-missing-field-initializers -Wno-unused-function
	-I${KT_GEN_DIR} -I${CMAKE_SOURCE_DIR}/probes -I${CMAKE_SOURCE_DIR}/probes/lib)

# libbpf's usdt.bpf.h includes <linux/errno.h>, whose <asm/errno.h> lives in
# the multiarch directory that clang -target bpf does not search
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch OUTPUT_VARIABLE KT_MULTIARCH
	OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT KT_MULTIARCH)
	set(KT_MULTIARCH x86_64-linux-gnu)
endif()
list(APPEND KT_BPF_FLAGS -idirafter /usr/include/${KT_MULTIARCH})

if(KT_WERROR)
	list(APPEND KT_BPF_FLAGS -Werror)
endif()

file(GLOB KT_BPF_HEADERS ${CMAKE_SOURCE_DIR}/probes/*.h ${CMAKE_SOURCE_DIR}/probes/lib/*.h)

# kt_bpf_skeletons(OUTVAR src...): a skeleton header for each probe source.
function(kt_bpf_skeletons outvar)
	set(headers)
	foreach(src ${ARGN})
		get_filename_component(name ${src} NAME_WE)
		set(dbg ${KT_GEN_DIR}/${name}.debug.bpf.o)
		set(obj ${KT_GEN_DIR}/${name}.bpf.o)
		set(skel ${KT_GEN_DIR}/${name}.skel.h)
		add_custom_command(OUTPUT ${dbg}
			COMMAND ${KT_CLANG} ${KT_BPF_FLAGS} -c ${src} -o ${dbg}
			DEPENDS ${src} ${KT_BPF_HEADERS} ${KT_GEN_DIR}/vmlinux.h
			COMMENT "BPF ${name}.debug.bpf.o"
			VERBATIM)
		add_custom_command(OUTPUT ${obj}
			COMMAND ${KT_BPFTOOL} gen object ${obj}.tmp ${dbg}
			COMMAND ${CMAKE_COMMAND} -E rename ${obj}.tmp ${obj}
			DEPENDS ${dbg}
			COMMENT "BPF ${name}.bpf.o (DWARF stripped)"
			VERBATIM)
		add_custom_command(OUTPUT ${skel}
			COMMAND ${KT_BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}.raw
			COMMAND ${KT_GZIP} -9 -n -c ${obj} > ${obj}.gz
			COMMAND ${CMAKE_COMMAND} -DNAME=${name}_bpf -DOBJ=${obj} -DGZ=${obj}.gz
				-DIN=${skel}.raw -DOUT=${skel} -P ${CMAKE_SOURCE_DIR}/cmake/bpf_embed.cmake
			DEPENDS ${obj} ${CMAKE_SOURCE_DIR}/cmake/bpf_embed.cmake
			COMMENT "skeleton ${name}.skel.h (object embedded gzip-compressed)"
			VERBATIM)
		list(APPEND headers ${skel})
	endforeach()
	set(${outvar} ${headers} PARENT_SCOPE)
endfunction()
