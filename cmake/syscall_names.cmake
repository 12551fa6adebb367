# Generates the system call number -> name table of `ktrace syscalls` from the
# kernel's uapi header (linux-libc-dev): cmake -DIN=unistd_64.h -DOUT=x.h -P this.
file(STRINGS "${IN}" lines REGEX "^#define __NR_[A-Za-z0-9_]+[ \t]+[0-9]+")
set(body "")
set(count 0)
foreach(line ${lines})
	if(line MATCHES "^#define __NR_([A-Za-z0-9_]+)[ \t]+([0-9]+)")
		string(APPEND body "\t[${CMAKE_MATCH_2}] = \"${CMAKE_MATCH_1}\",\n")
		math(EXPR count "${count} + 1")
	endif()
endforeach()
if(count LESS 100)
	message(FATAL_ERROR "${IN}: only ${count} system calls found")
endif()
file(WRITE "${OUT}.tmp" "/* Generated from ${IN} by cmake/syscall_names.cmake: do not edit. */\n"
	"#ifndef KT_SYSCALL_NAMES_H\n#define KT_SYSCALL_NAMES_H\n"
	"static const char *const kt_syscall_names[] = {\n${body}};\n#endif\n")
file(RENAME "${OUT}.tmp" "${OUT}")
