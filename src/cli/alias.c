/* Docker's top-level spellings of image commands: `cell save`, `cell tag`,
 * `cell history`, `cell import` are `cell image save|tag|history|import`. */
#define _GNU_SOURCE
#include <stddef.h>

#include "commands.h"

static int image_alias(const char *sub, int argc, char **argv, cell_error **err)
{
	char *v[argc + 2];
	v[0] = "image";
	v[1] = (char *)sub;
	for (int i = 1; i < argc; i++)
		v[i + 1] = argv[i];
	v[argc + 1] = NULL;
	return cmd_image(argc + 1, v, err);
}

int cmd_save(int argc, char **argv, cell_error **err)
{
	return image_alias("save", argc, argv, err);
}

int cmd_tag(int argc, char **argv, cell_error **err)
{
	return image_alias("tag", argc, argv, err);
}

int cmd_history(int argc, char **argv, cell_error **err)
{
	return image_alias("history", argc, argv, err);
}

int cmd_import(int argc, char **argv, cell_error **err)
{
	return image_alias("import", argc, argv, err);
}
