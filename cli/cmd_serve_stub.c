/* Placeholder until web/ lands in the next commit: 'mica serve' is the
 * HTTP daemon of issue 3. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int
cmd_serve(const char *datadir, int argc, char **argv)
{
	(void)datadir;
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		puts("Usage: mica [-d DIR] serve (not built yet)");
		return 0;
	}
	fputs("mica: error: serve is not built yet\n", stderr);
	return 1;
}
