# libFuzzer targets for the readers of hostile files, the ELF reader and the
# perf map reader, and a ctest test for each (fuzz_elf, fuzz_perfmap) that
# runs it for KT_FUZZ_SECONDS (default 20) from a seed corpus: the ELF
# fixtures of test/unit/symbols.cmake (when built) and the size bombs and
# odd lines of seeds.py. Each runs under a memory limit (run_fuzz.cmake).
#
# The target is built with clang directly, whatever the project's compiler,
# since libFuzzer is clang's. Without clang or its fuzzer runtime (Debian 12:
# package clang-14 / libclang-rt-14-dev) the test is skipped (exit code 77)
# and says why. Expects: core/kt_elf.c, core/perfmap.c, and enable_testing().

set(KT_FUZZ_SECONDS 20 CACHE STRING "how long the fuzz_elf test fuzzes, in seconds")
find_program(KT_FUZZ_CLANG NAMES clang clang-14 clang-15 clang-16)
set(_kt_fuzz_dir ${CMAKE_BINARY_DIR}/test/fuzz)
find_program(KT_FUZZ_PYTHON NAMES python3)
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

if(NOT _kt_fuzz_why AND NOT KT_FUZZ_PYTHON)
	set(_kt_fuzz_why "python3 was not found (it writes the seeds)")
endif()

if(_kt_fuzz_why)
	message(STATUS "the fuzz tests will be skipped: ${_kt_fuzz_why}")
	foreach(_kind elf perfmap)
		add_test(NAME fuzz_${_kind} COMMAND sh -c "echo \"skip: $1\"; exit 77" sh "${_kt_fuzz_why}")
		set_tests_properties(fuzz_${_kind} PROPERTIES SKIP_RETURN_CODE 77 LABELS fuzz)
	endforeach()
	return()
endif()

set(_kt_fuzz_core ${CMAKE_CURRENT_LIST_DIR}/../../core)
set(_kt_fuzz_src_elf ${_kt_fuzz_core}/kt_elf.c)
set(_kt_fuzz_src_perfmap ${_kt_fuzz_core}/perfmap.c)
foreach(_kind elf perfmap)
	add_custom_command(
		OUTPUT ${_kt_fuzz_dir}/fuzz_${_kind}
		COMMAND ${KT_FUZZ_CLANG} ${_kt_fuzz_flags} -iquote ${_kt_fuzz_core}
			${CMAKE_CURRENT_LIST_DIR}/fuzz_${_kind}.c ${_kt_fuzz_src_${_kind}}
			-o ${_kt_fuzz_dir}/fuzz_${_kind}
		DEPENDS ${CMAKE_CURRENT_LIST_DIR}/fuzz_${_kind}.c ${_kt_fuzz_src_${_kind}}
			${_kt_fuzz_core}/kt_elf.h ${_kt_fuzz_core}/perfmap.h
		COMMENT "Building the ${_kind} fuzzer with ${KT_FUZZ_CLANG}"
		VERBATIM)
	add_custom_target(fuzz_${_kind}_target ALL DEPENDS ${_kt_fuzz_dir}/fuzz_${_kind})
	add_test(NAME fuzz_${_kind}
		COMMAND ${CMAKE_COMMAND} -DFUZZER=${_kt_fuzz_dir}/fuzz_${_kind}
			-DCORPUS=${_kt_fuzz_dir}/corpus_${_kind} -DSEED_DIR=${KT_FIXTURE_DIR}
			-DKIND=${_kind} -DPYTHON=${KT_FUZZ_PYTHON}
			-DSEEDS_PY=${CMAKE_CURRENT_LIST_DIR}/seeds.py
			-DSECONDS=${KT_FUZZ_SECONDS} -P ${CMAKE_CURRENT_LIST_DIR}/run_fuzz.cmake)
	set_tests_properties(fuzz_${_kind} PROPERTIES LABELS fuzz TIMEOUT 300)
endforeach()
