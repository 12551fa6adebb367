# Run by the fuzz_* tests: make a fresh corpus from the seeds, then fuzz for
# SECONDS. Inputs: FUZZER, CORPUS, SEED_DIR (ELF fixtures, for KIND elf),
# KIND (elf or perfmap), PYTHON, SEEDS_PY, SECONDS.
# -malloc_limit_mb: a single allocation above it is a failure, so that an
# allocation sized by a declared size (a size bomb) is caught, not survived.
file(REMOVE_RECURSE ${CORPUS})
file(MAKE_DIRECTORY ${CORPUS})
if(KIND STREQUAL "elf")
	foreach(_seed libktfixlib.so ktfix_nopie ktfix_pie ktfix_stripped ktfix_stripped.debug)
		if(EXISTS ${SEED_DIR}/${_seed})
			file(COPY ${SEED_DIR}/${_seed} DESTINATION ${CORPUS})
		endif()
	endforeach()
endif()
execute_process(COMMAND ${PYTHON} ${SEEDS_PY} ${KIND} ${CORPUS} RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
	message(FATAL_ERROR "writing the ${KIND} seeds failed (${_rc})")
endif()
get_filename_component(_dir ${CORPUS} DIRECTORY)
execute_process(
	COMMAND ${FUZZER} -max_total_time=${SECONDS} -artifact_prefix=${_dir}/${KIND}- -max_len=65536
		-timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=96 -print_final_stats=1 ${CORPUS}
	RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
	message(FATAL_ERROR "fuzz_${KIND} failed (${_rc}); the crashing input is in ${_dir}")
endif()
