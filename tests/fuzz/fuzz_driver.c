/* Stand-alone driver for a libFuzzer target, so the fuzz targets run as
 * ordinary tests under gcc + ASan/UBSan (no clang, no libFuzzer):
 *
 *   fuzz_wire_smoke SEED_DIR [N]
 *
 * Runs LLVMFuzzerTestOneInput on every regular file in SEED_DIR (sorted by
 * name), then on N deterministic mutations of those seeds (default 20000):
 * bit flips, bytes set to 0x00/0xFF/0x7F/0x80, truncation, insertion of
 * random bytes, duplication of a chunk, and little-endian u16/u32 fields
 * overwritten with boundary values (0, 1, 0x7FFF, 0xFFFF, 0xFFFFFFFF, input
 * length +- a little).  One to four mutations are stacked per input.  The
 * PRNG (xorshift64*) has a fixed seed, so every run is identical and a
 * failure reproduces from the iteration number alone.
 *
 * Before each input its iteration number and hex are kept in a static
 * buffer; a SIGSEGV/SIGABRT/SIGBUS handler and an ASan death callback print
 * them to stderr, and ASan prints the stack.  To replay one input:
 *   fuzz_wire_smoke SEED_DIR N --only ITER
 * and to save it:  --dump ITER FILE.
 * Exit status 0 = no crash, 2 = usage / seed dir problem. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DRV_MAX_INPUT 8192
#define MAX_SEEDS 256

struct seed {
	uint8_t *p;
	size_t n;
	char *name;
};

static struct seed seeds[MAX_SEEDS];
static size_t nseeds;

/* The current input, for the crash reporters. */
static uint8_t cur[DRV_MAX_INPUT];
static size_t cur_len;
static long cur_iter = -1;
static const char *cur_seed = "";

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static size_t rnd_below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

/* Async-signal-safe hex dump of the current input to fd 2. */
static void put(const char *s)
{
	ssize_t r = write(2, s, strlen(s));
	(void)r;
}

static void put_num(long v)
{
	char b[24];
	int i = (int)sizeof(b) - 1;
	b[i] = '\0';
	if (v < 0) {
		put("-");
		v = -v;
	}
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	put(b + i);
}

static void dump_current(void)
{
	static const char hx[] = "0123456789abcdef";
	static volatile sig_atomic_t dumped;
	char line[2 * 32 + 2];
	if (dumped)
		return; /* ASan's death callback, then its abort() */
	dumped = 1;
	put("\n==fuzz_driver== crashing input: iteration ");
	put_num(cur_iter);
	put(" (seed ");
	put(cur_seed);
	put("), ");
	put_num((long)cur_len);
	put(" bytes, hex:\n");
	for (size_t i = 0; i < cur_len; i += 32) {
		size_t k = 0;
		for (size_t j = i; j < cur_len && j < i + 32; j++) {
			line[k++] = hx[cur[j] >> 4];
			line[k++] = hx[cur[j] & 15];
		}
		line[k++] = '\n';
		ssize_t r = write(2, line, k);
		(void)r;
	}
	put("==fuzz_driver== end of input\n");
}

static void on_signal(int sig)
{
	dump_current();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Called by ASan before it exits on an error report. */
void __asan_set_death_callback(void (*cb)(void)) __attribute__((weak));

static int cmp_names(const void *a, const void *b)
{
	return strcmp(((const struct seed *)a)->name, ((const struct seed *)b)->name);
}

static int load_seeds(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "fuzz_driver: cannot open seed dir %s: %s\n", dir, strerror(errno));
		return -1;
	}
	struct dirent *e;
	while ((e = readdir(d)) && nseeds < MAX_SEEDS) {
		if (e->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		uint8_t *buf = malloc(DRV_MAX_INPUT);
		size_t n = buf ? fread(buf, 1, DRV_MAX_INPUT, f) : 0;
		fclose(f);
		if (!buf)
			break;
		seeds[nseeds].p = buf;
		seeds[nseeds].n = n;
		seeds[nseeds].name = strdup(e->d_name);
		nseeds++;
	}
	closedir(d);
	qsort(seeds, nseeds, sizeof(seeds[0]), cmp_names);
	return 0;
}

static void le_store(uint8_t *p, uint64_t v, int width)
{
	for (int i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* One mutation of buf[0..*n) in place; *n stays <= DRV_MAX_INPUT. */
static void mutate(uint8_t *buf, size_t *n)
{
	size_t len = *n;
	switch (rnd_below(9)) {
	case 0: /* bit flip */
		if (len)
			buf[rnd_below(len)] ^= (uint8_t)(1u << rnd_below(8));
		break;
	case 1: { /* interesting byte */
		static const uint8_t v[] = { 0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE };
		if (len)
			buf[rnd_below(len)] = v[rnd_below(sizeof(v))];
		break;
	}
	case 2: /* truncate (often near the end, sometimes anywhere) */
		if (len)
			*n = rnd() & 1 ? len - 1 - rnd_below(len < 16 ? len : 16) : rnd_below(len);
		break;
	case 3: { /* insert random bytes */
		size_t k = 1 + rnd_below(16);
		if (len + k > DRV_MAX_INPUT)
			break;
		size_t at = rnd_below(len + 1);
		memmove(buf + at + k, buf + at, len - at);
		for (size_t i = 0; i < k; i++)
			buf[at + i] = (uint8_t)rnd();
		*n = len + k;
		break;
	}
	case 4: { /* duplicate a chunk somewhere else */
		if (!len)
			break;
		size_t from = rnd_below(len);
		size_t k = 1 + rnd_below(len - from < 64 ? len - from : 64);
		if (len + k > DRV_MAX_INPUT)
			break;
		uint8_t tmp[64];
		memcpy(tmp, buf + from, k);
		size_t at = rnd_below(len + 1);
		memmove(buf + at + k, buf + at, len - at);
		memcpy(buf + at, tmp, k);
		*n = len + k;
		break;
	}
	case 5: /* random byte */
		if (len)
			buf[rnd_below(len)] = (uint8_t)rnd();
		break;
	default: { /* u16 / u32 field := boundary value (weighted: most useful) */
		int width = rnd() & 1 ? 4 : 2;
		if (len < (size_t)width)
			break;
		/* Fields are mostly aligned; sometimes take any offset. */
		size_t at = rnd_below(len - (size_t)width + 1);
		if (rnd_below(4))
			at &= ~(size_t)(width - 1);
		uint64_t v;
		switch (rnd_below(8)) {
		case 0: v = 0; break;
		case 1: v = 1; break;
		case 2: v = 0x7FFF; break;
		case 3: v = 0xFFFF; break;
		case 4: v = 0xFFFFFFFFu; break;
		case 5: v = 0x80000000u; break;
		default: v = (uint64_t)len + rnd_below(17) - 8; break; /* len +- 8 */
		}
		le_store(buf + at, v, width);
		break;
	}
	}
}

static void run_one(long iter, const struct seed *s, const uint8_t *p, size_t n)
{
	cur_iter = iter;
	cur_seed = s ? s->name : "";
	cur_len = n;
	memcpy(cur, p, n);
	/* A fresh heap copy of exactly n bytes, so ASan sees every overread. */
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		abort();
	memcpy(copy, p, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s SEED_DIR [N] [--only ITER | --dump ITER FILE]\n", argv[0]);
		return 2;
	}
	long n_mut = argc > 2 ? strtol(argv[2], NULL, 10) : 20000;
	long only = -1;
	const char *dump = NULL;
	for (int i = 3; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--only") == 0) {
			only = strtol(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--dump") == 0 && i + 2 < argc) {
			only = strtol(argv[i + 1], NULL, 10);
			dump = argv[i + 2];
		}
	}
	if (load_seeds(argv[1]) < 0)
		return 2;
	if (nseeds == 0) {
		fprintf(stderr, "fuzz_driver: no seeds in %s\n", argv[1]);
		return 2;
	}
	/* Under ASan its own SEGV handler prints the stack; ours would
	 * replace it, so hook its death callback instead. */
	if (__asan_set_death_callback) {
		__asan_set_death_callback(dump_current);
	} else {
		signal(SIGSEGV, on_signal);
		signal(SIGBUS, on_signal);
		signal(SIGFPE, on_signal);
	}
	signal(SIGABRT, on_signal);

	/* Iterations 0..nseeds-1 are the seeds themselves. */
	long iter = 0;
	for (size_t i = 0; i < nseeds; i++, iter++)
		if (only < 0 || only == iter)
			run_one(iter, &seeds[i], seeds[i].p, seeds[i].n);

	/* The empty input and a few tiny ones, once. */
	static const uint8_t tiny[4] = { 0 };
	for (size_t k = 0; k <= sizeof(tiny); k++, iter++)
		if (only < 0 || only == iter)
			run_one(iter, NULL, tiny, k);

	static uint8_t buf[DRV_MAX_INPUT];
	for (long m = 0; m < n_mut; m++, iter++) {
		const struct seed *s = &seeds[rnd_below(nseeds)];
		size_t n = s->n;
		memcpy(buf, s->p, n);
		int stack = 1 + (int)rnd_below(4);
		for (int k = 0; k < stack; k++)
			mutate(buf, &n);
		if (only >= 0 && only != iter)
			continue;
		if (dump) {
			FILE *f = fopen(dump, "wb");
			if (!f || fwrite(buf, 1, n, f) != n) {
				perror(dump);
				return 2;
			}
			fclose(f);
			return 0;
		}
		run_one(iter, s, buf, n);
	}
	fprintf(stderr, "fuzz_driver: %zu seeds, %ld mutated inputs from %s: no crash\n", nseeds,
		n_mut, argv[1]);
	return 0;
}
