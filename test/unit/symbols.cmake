# Unit tests for the ELF reader, kernel and user symbolization, the stack
# table, folded output and the flame graph writer.
#
# Expects from the top level: the static library target ktcore (core/*.c and
# output/*.c, with core/ and output/ as include directories), KT_WARN_FLAGS,
# and enable_testing(). Builds its ELF fixtures with the C compiler directly,
# with fixed flags (no sanitizers, no -Werror: the fixtures are inputs, and
# one of them is static, which ASan does not allow).

set(KT_FIXTURE_DIR ${CMAKE_BINARY_DIR}/test/fixtures)
set(_ktfix_src ${CMAKE_CURRENT_LIST_DIR}/fixtures)
file(MAKE_DIRECTORY ${KT_FIXTURE_DIR})
# GNU objcopy, whatever the compiler: with clang CMAKE_OBJCOPY is llvm-objcopy
# 14, which rejects the static fixture ("Link field value ... in section
# .rela.plt is not a symbol table").
find_program(KT_FIX_OBJCOPY NAMES objcopy REQUIRED)

set(_ktfix_cc ${CMAKE_C_COMPILER} -O0 -g -Wl,--build-id=sha1)
set(_ktfix_exe_link -L${KT_FIXTURE_DIR} -lktfixlib "-Wl,-rpath,\$ORIGIN")
add_custom_command(
	OUTPUT ${KT_FIXTURE_DIR}/libktfixlib.so
	COMMAND ${_ktfix_cc} -fPIC -shared -o libktfixlib.so ${_ktfix_src}/ktfixlib.c
	DEPENDS ${_ktfix_src}/ktfixlib.c
	WORKING_DIRECTORY ${KT_FIXTURE_DIR}
	COMMENT "Building symbolization fixture libktfixlib.so"
	VERBATIM)
add_custom_command(
	OUTPUT ${KT_FIXTURE_DIR}/ktfix_nopie ${KT_FIXTURE_DIR}/ktfix_pie
	       ${KT_FIXTURE_DIR}/ktfix_static
	COMMAND ${_ktfix_cc} -fno-pie -no-pie -o ktfix_nopie ${_ktfix_src}/ktfix.c ${_ktfix_exe_link}
	COMMAND ${_ktfix_cc} -fPIE -pie -o ktfix_pie ${_ktfix_src}/ktfix.c ${_ktfix_exe_link}
	COMMAND ${_ktfix_cc} -static -DKTFIX_STATIC -o ktfix_static ${_ktfix_src}/ktfix.c
	DEPENDS ${_ktfix_src}/ktfix.c ${KT_FIXTURE_DIR}/libktfixlib.so
	WORKING_DIRECTORY ${KT_FIXTURE_DIR}
	COMMENT "Building symbolization fixtures (non-PIE, PIE, static)"
	VERBATIM)
# A stripped PIE whose symbols live only in a separate debug file, found by
# .gnu_debuglink; and the same without the link (found by build-id only).
add_custom_command(
	OUTPUT ${KT_FIXTURE_DIR}/ktfix_stripped ${KT_FIXTURE_DIR}/ktfix_stripped.debug
	       ${KT_FIXTURE_DIR}/ktfix_nolink
	COMMAND ${KT_FIX_OBJCOPY} --only-keep-debug ktfix_pie ktfix_stripped.debug
	COMMAND ${KT_FIX_OBJCOPY} --strip-all --add-gnu-debuglink=ktfix_stripped.debug
		ktfix_pie ktfix_stripped
	COMMAND ${KT_FIX_OBJCOPY} --strip-all ktfix_pie ktfix_nolink
	DEPENDS ${KT_FIXTURE_DIR}/ktfix_pie
	WORKING_DIRECTORY ${KT_FIXTURE_DIR}
	COMMENT "Building stripped symbolization fixtures"
	VERBATIM)
# A stripped static binary (it runs in an empty chroot) whose symbols are only
# in a separate debug file found by build-id.
add_custom_command(
	OUTPUT ${KT_FIXTURE_DIR}/ktfix_static_nolink ${KT_FIXTURE_DIR}/ktfix_static.debug
	COMMAND ${KT_FIX_OBJCOPY} --only-keep-debug ktfix_static ktfix_static.debug
	COMMAND ${KT_FIX_OBJCOPY} --strip-all ktfix_static ktfix_static_nolink
	DEPENDS ${KT_FIXTURE_DIR}/ktfix_static
	WORKING_DIRECTORY ${KT_FIXTURE_DIR}
	COMMENT "Building the stripped static symbolization fixture"
	VERBATIM)
add_custom_target(kt_sym_fixtures ALL
	DEPENDS ${KT_FIXTURE_DIR}/libktfixlib.so ${KT_FIXTURE_DIR}/ktfix_nopie
		${KT_FIXTURE_DIR}/ktfix_stripped ${KT_FIXTURE_DIR}/ktfix_static_nolink)

# The tests themselves (test_elf.c, test_syms.c, test_flamegraph.c) are built
# and registered, with ASan+UBSan variants, by test/CMakeLists.txt like every
# unit test; they get KT_FIXTURE_DIR as their first argument.
