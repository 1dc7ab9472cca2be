/* posagent — entry point. Everything lives in libposagent; main only
 * decides the process exit status (the one place out-of-memory ends us). */
#include "agent/cli/cli.h"

int
main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
