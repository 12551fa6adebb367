# cmake -DNAME=x_bpf -DOBJ=x.bpf.o -DGZ=x.bpf.o.gz -DIN=x.skel.raw.h -DOUT=x.skel.h -P bpf_embed.cmake
#
# Rewrites bpftool's skeleton so that it embeds the gzip image of the object
# (GZ, made with `gzip -9n`) instead of the object itself: the generated
# NAME__elf_bytes() unpacks it with kt_bpf_inflate() (core/bpfz.c). bpftool's
# own definition stays, renamed NAME__elf_bytes_plain(): an unused static
# inline function, which the compiler does not emit.
foreach(v IN ITEMS NAME OBJ GZ IN OUT)
	if(NOT DEFINED ${v})
		message(FATAL_ERROR "bpf_embed.cmake: ${v} is not set")
	endif()
endforeach()

file(READ ${IN} skel)
set(def "static inline const void *${NAME}__elf_bytes(size_t *sz)\n{")
string(FIND "${skel}" "${def}" at)
if(at EQUAL -1)
	message(FATAL_ERROR "bpf_embed.cmake: no definition of ${NAME}__elf_bytes() in ${IN} "
		"(has bpftool's skeleton format changed?)")
endif()

file(SIZE ${OBJ} raw)
file(SIZE ${GZ} zlen)
file(READ ${GZ} hex HEX)
# 16 bytes a line
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REPEAT "0x..," 16 line)
string(REGEX REPLACE "(${line})" "\\1\n\t\t" bytes "${bytes}")

set(new "const void *kt_bpf_inflate(const unsigned char *z, size_t zlen, size_t raw, size_t *sz);

/* ${OBJ}: ${raw} bytes, embedded as ${zlen} bytes of gzip */
static inline const void *${NAME}__elf_bytes(size_t *sz)
{
	static const unsigned char z[] = {
		${bytes}
	};

	return kt_bpf_inflate(z, sizeof(z), ${raw}, sz);
}

static inline const void *${NAME}__elf_bytes_plain(size_t *sz)
{")
string(REPLACE "${def}" "${new}" skel "${skel}")
file(WRITE ${OUT}.tmp "${skel}")
file(RENAME ${OUT}.tmp ${OUT})
