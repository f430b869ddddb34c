/* libkmod side of the lookup benchmark: the same modaliases resolved with
 * kmod_module_new_from_lookup on a kmod tree, as modprobe -R does it.
 * usage: kmod_lookup MODULES_DIR MODALIAS_FILE REPEAT
 * prints: lookups wall_seconds found vmhwm_kib cpu_seconds */
#include <libkmod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long vmhwm_kib(void) {
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

int main(int argc, char **argv) {
	if (argc != 4) {
		fprintf(stderr, "usage: %s MODULES_DIR MODALIAS_FILE REPEAT\n", argv[0]);
		return 2;
	}
	/* No modprobe.d configuration: only the index files, like the profiles. */
	const char *no_config[] = {NULL};
	struct kmod_ctx *ctx = kmod_new(argv[1], no_config);
	if (!ctx || kmod_load_resources(ctx) < 0) {
		fprintf(stderr, "cannot open kmod indexes in %s\n", argv[1]);
		return 1;
	}
	FILE *in = fopen(argv[2], "r");
	if (!in) {
		perror(argv[2]);
		return 1;
	}
	size_t cap = 1024, n = 0;
	char **lines = malloc(cap * sizeof *lines);
	char buf[4096];
	while (fgets(buf, sizeof buf, in)) {
		buf[strcspn(buf, "\n")] = 0;
		if (!*buf)
			continue;
		if (n == cap)
			lines = realloc(lines, (cap *= 2) * sizeof *lines);
		lines[n++] = strdup(buf);
	}
	fclose(in);
	long repeat = atol(argv[3]);
	size_t found = 0;
	struct timespec a, b, ca, cb;
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ca);
	for (long r = 0; r < repeat; r++)
		for (size_t i = 0; i < n; i++) {
			struct kmod_list *list = NULL;
			if (kmod_module_new_from_lookup(ctx, lines[i], &list) >= 0 && list)
				found++;
			kmod_module_unref_list(list);
		}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cb);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double secs = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	double cpu = (cb.tv_sec - ca.tv_sec) + (cb.tv_nsec - ca.tv_nsec) / 1e9;
	printf("%zu %.6f %zu %ld %.6f\n", n * (size_t)repeat, secs, found, vmhwm_kib(), cpu);
	kmod_unref(ctx);
	return 0;
}
