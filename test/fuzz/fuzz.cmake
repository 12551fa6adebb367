# libFuzzer target for the ELF reader, and a ctest test (fuzz_elf) that runs
# it for KT_FUZZ_SECONDS (default 20) from a seed corpus of the ELF fixtures
# of test/unit/symbols.cmake (when built; the fuzzer also starts from nothing).
#
# The target is built with clang directly, whatever the project's compiler,
# since libFuzzer is clang's. Without clang or its fuzzer runtime (Debian 12:
# package clang-14 / libclang-rt-14-dev) the test is skipped (exit code 77)
# and says why. Expects: core/kt_elf.c, and enable_testing() at the top level.

set(KT_FUZZ_SECONDS 20 CACHE STRING "how long the fuzz_elf test fuzzes, in seconds")
find_program(KT_FUZZ_CLANG NAMES clang clang-14 clang-15 clang-16)
set(_kt_fuzz_dir ${CMAKE_BINARY_DIR}/test/fuzz)
set(_kt_fuzz_src ${CMAKE_CURRENT_LIST_DIR}/fuzz_elf.c ${CMAKE_CURRENT_LIST_DIR}/../../core/kt_elf.c)
set(_kt_fuzz_flags -g -O1 -std=gnu11 -Wall -Wextra
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
if(KT_WERROR)
	list(APPEND _kt_fuzz_flags -Werror)
endif()
if(NOT KT_FIXTURE_DIR)
	set(KT_FIXTURE_DIR ${CMAKE_BINARY_DIR}/test/fixtures)
endif()
file(MAKE_DIRECTORY ${_kt_fuzz_dir})

set(_kt_fuzz_why "")
if(NOT KT_FUZZ_CLANG)
	set(_kt_fuzz_why "clang was not found; install clang-14 to build the libFuzzer target")
else()
	file(WRITE ${_kt_fuzz_dir}/probe.c
		"int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\n"
		"int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n"
		"{ (void)d; (void)n; return 0; }\n")
	execute_process(
		COMMAND ${KT_FUZZ_CLANG} -fsanitize=fuzzer,address,undefined probe.c -o probe
		WORKING_DIRECTORY ${_kt_fuzz_dir}
		RESULT_VARIABLE _kt_fuzz_rc OUTPUT_QUIET ERROR_QUIET)
	if(NOT _kt_fuzz_rc EQUAL 0)
		set(_kt_fuzz_why "${KT_FUZZ_CLANG} cannot link -fsanitize=fuzzer; install libclang-rt-14-dev (or the compiler-rt of your clang)")
	endif()
endif()

if(_kt_fuzz_why)
	message(STATUS "fuzz_elf will be skipped: ${_kt_fuzz_why}")
	add_test(NAME fuzz_elf COMMAND sh -c "echo \"skip: $1\"; exit 77" sh "${_kt_fuzz_why}")
	set_tests_properties(fuzz_elf PROPERTIES SKIP_RETURN_CODE 77 LABELS fuzz)
	return()
endif()

add_custom_command(
	OUTPUT ${_kt_fuzz_dir}/fuzz_elf
	COMMAND ${KT_FUZZ_CLANG} ${_kt_fuzz_flags} -iquote ${CMAKE_CURRENT_LIST_DIR}/../../core
		${_kt_fuzz_src} -o ${_kt_fuzz_dir}/fuzz_elf
	DEPENDS ${_kt_fuzz_src} ${CMAKE_CURRENT_LIST_DIR}/../../core/kt_elf.h
	COMMENT "Building the ELF reader fuzzer with ${KT_FUZZ_CLANG}"
	VERBATIM)
add_custom_target(fuzz_elf_target ALL DEPENDS ${_kt_fuzz_dir}/fuzz_elf)
add_test(NAME fuzz_elf
	COMMAND ${CMAKE_COMMAND} -DFUZZER=${_kt_fuzz_dir}/fuzz_elf
		-DCORPUS=${_kt_fuzz_dir}/corpus -DSEED_DIR=${KT_FIXTURE_DIR}
		-DSECONDS=${KT_FUZZ_SECONDS} -P ${CMAKE_CURRENT_LIST_DIR}/run_fuzz.cmake)
set_tests_properties(fuzz_elf PROPERTIES LABELS fuzz TIMEOUT 300)
