/*
 * web/assets.c - look up an embedded web page or file by URL path.
 *
 * The table is a dozen entries long, so a linear scan with strcmp is both
 * the simplest and fast enough; the path was already decoded and checked
 * for dot segments by the dispatcher.
 */
#include "web/assets.h"

#include <string.h>

const struct web_asset *
web_asset_find(const char *path)
{
	if (path == NULL)
		return NULL;
	for (size_t i = 0; i < web_nassets; i++)
		if (strcmp(web_assets[i].path, path) == 0)
			return &web_assets[i];
	return NULL;
}
