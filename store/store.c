/*
 * store.c - opening and creating stores; content-addressed chunks and
 * objects on top of kv.c.  See store.h for the on-disk layout and the
 * read/write rules.
 */
#include "store.h"
#include "store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "transport.h"
#include "xalloc.h"
#include "banned.h"

#define CONFIG_NAME "config"
#define DB_NAME "db"
#define LOCK_NAME "lock"
#define GATE_NAME "lock.gate"
/* After this long waiting for the lock, vs_store_wait.waiting is told. */
#define LOCK_NOTICE_MS 1000

void vs_config_defaults(struct vs_config *c)
{
	c->format = VS_STORE_FORMAT;
	c->chunking.min = 64 << 10;
	c->chunking.avg = 256 << 10;
	c->chunking.max = 1 << 20;
	/*
	 * Measured with scripts/bench-ingest.sh: level 1 commits about 8%
	 * faster than level 3 and stores within 0.5% of it on ML-shaped data
	 * (float32 weights barely compress at any level).  Average chunks of
	 * 256 KiB dedup as well as 64 KiB ones there, with a quarter of the
	 * lookups, and gain nothing from 512 KiB or 1 MiB.
	 */
	c->zstd_level = 1;
}

static char *path_join(const char *a, const char *b)
{
	struct vs_buf p = VS_BUF_INIT;

	vs_buf_addf(&p, "%s/%s", a, b);
	return vs_buf_detach(&p, NULL);
}

/* --- config ------------------------------------------------------------ */

static void config_format(const struct vs_config *c, struct vs_buf *out)
{
	vs_buf_addf(out,
		    "# varve store configuration\n"
		    "[store]\n"
		    "format = %d\n"
		    "\n"
		    "[chunking]\n"
		    "min = %u\n"
		    "avg = %u\n"
		    "max = %u\n"
		    "\n"
		    "[compression]\n"
		    "level = %d\n",
		    c->format, c->chunking.min, c->chunking.avg,
		    c->chunking.max, c->zstd_level);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
			 e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int parse_uint(const char *v, long max, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 0 || n > max)
		return -1;
	*out = n;
	return 0;
}

/* True for a "[remote.NAME]" section's name (store.h). */
static bool is_remote_section(const char *section)
{
	return !strncmp(section, "remote.", 7);
}

static int config_parse(char *text, struct vs_config *c, const char *path,
			struct vs_error *err)
{
	char section[96] = "";
	char *line, *next;
	int lineno = 0;

	memset(c, 0, sizeof(*c));
	c->zstd_level = 3;
	for (line = text; line && *line; line = next) {
		char *key, *val, *eq;
		long n;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		key = trim(line);
		if (!*key || *key == '#' || *key == ';')
			continue;
		if (*key == '[') {
			size_t l = strlen(key);

			if (key[l - 1] != ']' || l - 2 >= sizeof(section))
				goto bad;
			memcpy(section, key + 1, l - 2);
			section[l - 2] = '\0';
			continue;
		}
		eq = strchr(key, '=');
		if (!eq)
			goto bad;
		*eq = '\0';
		val = trim(eq + 1);
		key = trim(key);
		/* Remotes are strings, read by vs_store_remotes(). */
		if (is_remote_section(section))
			continue;
		if (parse_uint(val, INT_MAX, &n) < 0)
			goto bad;
		if (!strcmp(section, "store") && !strcmp(key, "format"))
			c->format = n;
		else if (!strcmp(section, "chunking") && !strcmp(key, "min"))
			c->chunking.min = n;
		else if (!strcmp(section, "chunking") && !strcmp(key, "avg"))
			c->chunking.avg = n;
		else if (!strcmp(section, "chunking") && !strcmp(key, "max"))
			c->chunking.max = n;
		else if (!strcmp(section, "compression") &&
			 !strcmp(key, "level"))
			c->zstd_level = n;
		/* Unknown keys are kept for newer minor features: ignored. */
	}
	if (c->format < 1)
		return vs_error_set(err, VS_E_CORRUPT,
				    "'%s' has no valid [store] format", path);
	if (c->format > VS_STORE_FORMAT)
		return vs_error_set(err, VS_E_VERSION,
				    "store format %d is newer than this varve "
				    "supports (%d); upgrade varve",
				    c->format, VS_STORE_FORMAT);
	if (!vs_chunker_params_valid(&c->chunking))
		return vs_error_set(err, VS_E_CORRUPT,
				    "'%s' has invalid chunking parameters",
				    path);
	if (c->zstd_level < 1 || c->zstd_level > 19)
		return vs_error_set(err, VS_E_CORRUPT,
				    "'%s' has an invalid compression level",
				    path);
	return 0;
bad:
	return vs_error_set(err, VS_E_CORRUPT, "'%s' line %d is malformed",
			    path, lineno);
}

static int read_text_file(const char *path, struct vs_buf *out)
{
	char tmp[4096];
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, tmp, sizeof(tmp))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (out->len + n > (1 << 20)) {
			r = -EFBIG;
			break;
		}
		vs_buf_add(out, tmp, n);
	}
	close(fd);
	return r;
}

/* --- remotes in the config ------------------------------------------------ */

bool vs_remote_name_valid(const char *name)
{
	size_t i, n = name ? strlen(name) : 0;

	if (n == 0 || n > 64 || name[0] == '.' || name[0] == '_' ||
	    name[0] == '-')
		return false;
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-'))
			return false;
	}
	return true;
}

/* A config value: one line of printable bytes, no space at either end. */
static bool remote_value_valid(const char *v)
{
	size_t n = strlen(v), i;

	if (n == 0 || n > 1024 || v[0] == ' ' || v[n - 1] == ' ')
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return false;
	return true;
}

void vs_remote_configs_free(struct vs_remote_config *r, size_t n)
{
	size_t i;

	for (i = 0; r && i < n; i++) {
		free(r[i].name);
		free(r[i].url);
		free(r[i].endpoint);
		free(r[i].region);
	}
	free(r);
}

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = vs_xstrdup(v);
}

int vs_store_remotes(struct vs_store *s, struct vs_remote_config **out,
		     size_t *count, struct vs_error *err)
{
	struct vs_buf text = VS_BUF_INIT;
	struct vs_remote_config *rs = NULL, *cur = NULL;
	char *config = path_join(s->path, CONFIG_NAME), *line, *next;
	size_t n = 0, i;
	int lineno = 0, r;

	r = read_text_file(config, &text);
	if (r < 0) {
		r = vs_error_set(err, r, "cannot read '%s' (%s)", config,
				 vs_strerror(r));
		goto out;
	}
	for (line = text.data; line && *line; line = next) {
		char *key, *val, *eq;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		key = trim(line);
		if (!*key || *key == '#' || *key == ';')
			continue;
		if (*key == '[') {
			size_t l = strlen(key);

			cur = NULL;
			if (l < 2 || key[l - 1] != ']')
				goto bad;
			key[l - 1] = '\0';
			if (!is_remote_section(key + 1))
				continue;
			if (!vs_remote_name_valid(key + 8))
				goto bad;
			for (i = 0; i < n; i++)
				if (!strcmp(rs[i].name, key + 8))
					cur = &rs[i];
			if (!cur) {
				rs = vs_xreallocarray(rs, n + 1, sizeof(*rs));
				cur = &rs[n++];
				memset(cur, 0, sizeof(*cur));
				cur->name = vs_xstrdup(key + 8);
			}
			continue;
		}
		if (!cur)
			continue;
		eq = strchr(key, '=');
		if (!eq)
			goto bad;
		*eq = '\0';
		val = trim(eq + 1);
		key = trim(key);
		if (!strcmp(key, "url"))
			set_str(&cur->url, val);
		else if (!strcmp(key, "endpoint"))
			set_str(&cur->endpoint, val);
		else if (!strcmp(key, "region"))
			set_str(&cur->region, val);
		else if (!strcmp(key, "path_style"))
			cur->path_style = !strcmp(val, "1") ||
					  !strcmp(val, "true");
		/* Unknown keys: for a later varve, ignored. */
	}
	for (i = 0; i < n; i++)
		if (!rs[i].url || !*rs[i].url) {
			r = vs_error_set(err, VS_E_CORRUPT, "remote '%s' in "
					 "'%s' has no url", rs[i].name,
					 config);
			goto out;
		}
	*out = rs;
	*count = n;
	rs = NULL;
	n = 0;
	r = 0;
	goto out;
bad:
	r = vs_error_set(err, VS_E_CORRUPT, "'%s' line %d is malformed",
			 config, lineno);
out:
	vs_remote_configs_free(rs, n);
	vs_buf_release(&text);
	free(config);
	return r;
}

int vs_store_set_remotes(struct vs_store *s, const struct vs_remote_config *rs,
			 size_t n, struct vs_error *err)
{
	struct vs_buf text = VS_BUF_INIT, out = VS_BUF_INIT;
	char *config = path_join(s->path, CONFIG_NAME), *line, *next;
	bool in_remote = false;
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		const struct vs_remote_config *c = &rs[i];

		if (!vs_remote_name_valid(c->name) || !c->url ||
		    !remote_value_valid(c->url) ||
		    (c->endpoint && !remote_value_valid(c->endpoint)) ||
		    (c->region && !remote_value_valid(c->region))) {
			r = vs_error_set(err, VS_E_INVAL, "remote '%s' has an "
					 "invalid name or value",
					 c->name ? c->name : "");
			goto out;
		}
	}
	r = read_text_file(config, &text);
	if (r < 0) {
		r = vs_error_set(err, r, "cannot read '%s' (%s)", config,
				 vs_strerror(r));
		goto out;
	}
	/* Every line outside a remote section, as it was. */
	for (line = text.data; line && *line; line = next) {
		char *t;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		t = trim(line);
		if (*t == '[')
			in_remote = !strncmp(t, "[remote.", 8);
		if (!in_remote) {
			vs_buf_addstr(&out, line);
			vs_buf_addch(&out, '\n');
		}
	}
	while (out.len >= 2 && out.data[out.len - 1] == '\n' &&
	       out.data[out.len - 2] == '\n')
		vs_buf_setlen(&out, out.len - 1);
	for (i = 0; i < n; i++) {
		const struct vs_remote_config *c = &rs[i];

		vs_buf_addf(&out, "\n[remote.%s]\nurl = %s\n", c->name,
			    c->url);
		if (c->endpoint)
			vs_buf_addf(&out, "endpoint = %s\n", c->endpoint);
		if (c->region)
			vs_buf_addf(&out, "region = %s\n", c->region);
		if (c->path_style)
			vs_buf_addstr(&out, "path_style = 1\n");
	}
	r = vs_write_file_atomic(config, out.data, out.len, 0644);
	if (r < 0)
		vs_error_set(err, r, "cannot write '%s' (%s)", config,
			     vs_strerror(r));
out:
	vs_buf_release(&text);
	vs_buf_release(&out);
	free(config);
	return r;
}

/* --- create, open, close ------------------------------------------------- */

/* True if dir holds no entry but "." and "..". */
static bool dir_is_empty(const char *dir)
{
	struct dirent *de;
	bool empty = true;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return false;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = false;
			break;
		}
	}
	closedir(d);
	return empty;
}

static int make_abs(const char *dir, char **out)
{
	char *abs = realpath(dir, NULL);

	if (!abs)
		return -errno;
	*out = abs;
	return 0;
}

int vs_store_create(const char *dir, const struct vs_config *cfg,
		    struct vs_error *err)
{
	struct vs_buf text = VS_BUF_INIT;
	struct vs_kv *kv = NULL;
	char *abs = NULL, *db = NULL, *staging = NULL, *config = NULL;
	struct stat st;
	int r;

	if (!vs_chunker_params_valid(&cfg->chunking))
		return vs_error_set(err, VS_E_INVAL,
				    "invalid chunking parameters");
	if (mkdir(dir, 0755) < 0) {
		if (errno != EEXIST)
			return vs_error_set(err, -errno,
					    "cannot create '%s' (%s)", dir,
					    strerror(errno));
		config = path_join(dir, CONFIG_NAME);
		r = stat(config, &st);
		free(config);
		config = NULL;
		if (r == 0)
			return vs_error_set(err, VS_E_EXISTS,
					    "'%s' is already a varve store",
					    dir);
		if (!dir_is_empty(dir))
			return vs_error_set(err, VS_E_EXISTS,
					    "'%s' exists and is not an empty "
					    "directory", dir);
	}
	r = make_abs(dir, &abs);
	if (r < 0)
		return vs_error_set(err, r, "cannot resolve '%s' (%s)", dir,
				    vs_strerror(r));
	db = path_join(abs, DB_NAME);
	staging = path_join(abs, "staging");
	if (mkdir(staging, 0700) < 0 && errno != EEXIST) {
		r = vs_error_set(err, -errno, "cannot create '%s' (%s)",
				 staging, strerror(errno));
		goto out;
	}
	r = vs_kv_open(db, VS_KV_CREATE, &kv, err);
	if (r < 0)
		goto out;
	vs_kv_close(kv);
	/* The config is written last: its presence makes the store. */
	config_format(cfg, &text);
	config = path_join(abs, CONFIG_NAME);
	r = vs_write_file_atomic(config, text.data, text.len, 0644);
	if (r < 0)
		vs_error_set(err, r, "cannot write the config in '%s' (%s)",
			     abs, vs_strerror(r));
out:
	vs_buf_release(&text);
	free(config);
	free(staging);
	free(db);
	free(abs);
	return r;
}

/* Appends " (COMMAND ARGS...)" from /proc/PID/cmdline to out: the program's
 * name without its directory, at most 80 printable bytes in all. */
static void add_cmdline(struct vs_buf *out, long pid)
{
	char path[64], line[256];
	size_t n, i, start = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	n = fread(line, 1, sizeof(line), f);
	fclose(f);
	while (n && line[n - 1] == '\0')
		n--;
	if (!n)
		return;
	for (i = 0; i < n && line[i]; i++)
		if (line[i] == '/')
			start = i + 1;
	vs_buf_addstr(out, " (");
	for (i = start; i < n && i < start + 80; i++)
		vs_buf_addch(out, !line[i] ? ' ' :
				  line[i] >= 0x20 && line[i] < 0x7f ? line[i] :
				  '?');
	vs_buf_addstr(out, i < n ? "...)" : ")");
}

/*
 * Names the processes that hold a lock on the file of fd, as
 * /proc/locks lists them: "pid 12 (varve verify)", "pids 12, 13".
 * "another process" where none can be named.
 */
static void lock_holders(int fd, struct vs_buf *out)
{
	unsigned maj, min;
	unsigned long ino;
	char line[256];
	struct stat st;
	long pid, pids[4];
	size_t n = 0, k;
	FILE *f;

	if (fstat(fd, &st) < 0 || !(f = fopen("/proc/locks", "re"))) {
		vs_buf_addstr(out, "another process");
		return;
	}
	while (n < 4 && fgets(line, sizeof(line), f)) {
		/* "1: FLOCK  ADVISORY  READ 1234 00:2e:5678 0 EOF"; the lines
		 * of waiters have "->" after the number. */
		if (strstr(line, "->") ||
		    sscanf(line, "%*d: %*s %*s %*s %ld %x:%x:%lu", &pid, &maj,
			   &min, &ino) != 4)
			continue;
		if (maj != major(st.st_dev) || min != minor(st.st_dev) ||
		    ino != (unsigned long)st.st_ino || pid <= 0)
			continue;
		for (k = 0; k < n && pids[k] != pid; k++)
			;
		if (k == n)
			pids[n++] = pid;
	}
	fclose(f);
	if (!n) {
		vs_buf_addstr(out, "another process");
		return;
	}
	vs_buf_addf(out, "pid%s %ld", n > 1 ? "s" : "", pids[0]);
	if (n == 1)
		add_cmdline(out, pids[0]);
	for (k = 1; k < n; k++)
		vs_buf_addf(out, ", %ld", pids[k]);
}

/*
 * Opens STORE/name for flock, made if create.  A reader opens it read-only
 * where it may not write it (a store on read-only media, or another
 * user's).  An fd or -errno.
 */
static int lock_open(const char *abs, const char *name, bool shared,
		     bool create)
{
	char *path = path_join(abs, name);
	int fd;

	fd = open(path, O_RDWR | (create ? O_CREAT : 0) | O_CLOEXEC, 0600);
	if (fd < 0 && shared && (errno == EROFS || errno == EACCES))
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	free(path);
	return fd;
}

/*
 * Takes flock op on fd, polling while another process holds it, until
 * *waited reaches w->timeout_ms; w->waiting is told once (who remembers
 * that it was).  0 or -EBUSY with a message naming the holders.
 */
static int lock_wait(int fd, int op, const char *abs,
		     const struct vs_store_wait *w, int *waited,
		     struct vs_buf *who, struct vs_error *err)
{
	while (flock(fd, op | LOCK_NB) < 0) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		if (errno != EWOULDBLOCK)
			return vs_error_set(err, -errno, "cannot lock '%s' "
					    "(%s)", abs, strerror(errno));
		if (*waited >= LOCK_NOTICE_MS && *waited < w->timeout_ms &&
		    w->waiting && !who->len) {
			lock_holders(fd, who);
			w->waiting(w->arg, abs, who->data, w->timeout_ms);
		}
		if (*waited >= w->timeout_ms) {
			vs_buf_reset(who);
			lock_holders(fd, who);
			if (w->timeout_ms)
				vs_buf_addf(who, "; gave up after %g s",
					    w->timeout_ms / 1000.0);
			return vs_error_set(err, -EBUSY, "store '%s' is in use "
					    "by %s", abs, who->data);
		}
		nanosleep(&ts, NULL);
		*waited += 50;
	}
	return 0;
}

/*
 * Takes the store's lock file: RocksDB admits one writer, and no reader
 * while it writes; a process that must wait does so here, as w says,
 * instead of failing at once on RocksDB's LOCK.  Readers share the lock.
 *
 * A writer first takes the gate (exclusively) and holds it while it waits
 * for the readers to leave; a reader passes the gate (shared) before it
 * takes the lock.  So readers that come while a writer waits queue behind
 * it, and a stream of overlapping readers cannot starve it.  Readers make
 * the lock file but not the gate: they go without it until a writer has
 * made it.
 */
static int store_lock(const char *abs, bool shared,
		      const struct vs_store_wait *w, int *fd_out,
		      struct vs_error *err)
{
	int op = shared ? LOCK_SH : LOCK_EX, waited = 0, gate, fd, r = 0;
	struct vs_buf who = VS_BUF_INIT;

	gate = lock_open(abs, GATE_NAME, shared, !shared);
	fd = lock_open(abs, LOCK_NAME, shared, true);
	if (fd == -EROFS || gate == -EROFS)
		r = vs_error_set(err, -EROFS, "store '%s' is on a read-only "
				 "file system: only commands that read it "
				 "work there", abs);
	else if (fd < 0 || (gate < 0 && !(shared && gate == -ENOENT)))
		r = vs_error_set(err, fd < 0 ? fd : gate, "cannot open the "
				 "lock of '%s' (%s)", abs,
				 strerror(fd < 0 ? -fd : -gate));
	if (r == 0 && gate >= 0)
		r = lock_wait(gate, op, abs, w, &waited, &who, err);
	if (r == 0)
		r = lock_wait(fd, op, abs, w, &waited, &who, err);
	if (gate >= 0)
		close(gate);
	vs_buf_release(&who);
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	*fd_out = fd;
	return 0;
}

int vs_store_open(const char *dir, struct vs_store **out,
		  struct vs_error *err)
{
	return vs_store_open_flags(dir, 0, out, err);
}

int vs_store_open_flags(const char *dir, unsigned flags,
			struct vs_store **out, struct vs_error *err)
{
	static const struct vs_store_wait wait = { VS_STORE_WAIT_MS, NULL,
						   NULL };

	return vs_store_open_wait(dir, flags, &wait, out, err);
}

int vs_store_open_wait(const char *dir, unsigned flags,
		       const struct vs_store_wait *w, struct vs_store **out,
		       struct vs_error *err)
{
	struct vs_buf text = VS_BUF_INIT;
	struct vs_store *s;
	char *config = NULL, *db = NULL;
	unsigned kv_flags = 0;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->lock_fd = -1;
	pthread_mutex_init(&s->ref_lock, NULL);
	pthread_mutex_init(&s->zctx_lock, NULL);
	r = make_abs(dir, &s->path);
	if (r < 0) {
		r = vs_error_set(err, VS_E_NOSTORE,
				 "'%s' is not a varve store (%s)", dir,
				 vs_strerror(r));
		goto fail;
	}
	config = path_join(s->path, CONFIG_NAME);
	r = read_text_file(config, &text);
	if (r < 0) {
		r = vs_error_set(err, VS_E_NOSTORE,
				 "'%s' is not a varve store (no readable "
				 "config: %s)", dir, vs_strerror(r));
		goto fail;
	}
	r = config_parse(text.data, &s->config, config, err);
	if (r < 0)
		goto fail;
	r = store_lock(s->path, flags & VS_STORE_READ_ONLY, w, &s->lock_fd,
		       err);
	if (r < 0)
		goto fail;
	db = path_join(s->path, DB_NAME);
	if (flags & VS_STORE_DIRECT_READS)
		kv_flags |= VS_KV_DIRECT_READS;
	if (flags & VS_STORE_READ_ONLY)
		kv_flags |= VS_KV_READ_ONLY;
	r = vs_kv_open(db, kv_flags, &s->kv, err);
	if (r < 0)
		goto fail;
	s->zctx = vs_zctx_new(s->config.zstd_level);
	if (!s->zctx) {
		r = -ENOMEM;
		goto fail;
	}
	*out = s;
	goto out;
fail:
	vs_store_close(s);
out:
	free(db);
	free(config);
	vs_buf_release(&text);
	return r;
}

const char *vs_store_path(const struct vs_store *s)
{
	return s->path;
}

const struct vs_config *vs_store_config(const struct vs_store *s)
{
	return &s->config;
}

void vs_store_set_on_change(struct vs_store *s, vs_store_change_fn *fn,
			    void *arg)
{
	s->on_change_arg = arg;
	s->on_change = fn;
}

void vs_store_notify_change(struct vs_store *s, const struct vs_repo *r,
			    const char *branch)
{
	if (s->on_change)
		s->on_change(s->on_change_arg, r, branch);
}

void vs_store_close(struct vs_store *s)
{
	if (!s)
		return;
	vs_kv_close(s->kv);
	vs_zctx_free(s->zctx);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	pthread_mutex_destroy(&s->ref_lock);
	pthread_mutex_destroy(&s->zctx_lock);
	free(s->path);
	free(s);
}

int vs_store_locate(const char *opt, const char *env_store, const char *cwd,
		    char **out, struct vs_error *err)
{
	struct vs_buf dir = VS_BUF_INIT;
	struct stat st;

	if (opt && *opt) {
		*out = strdup(opt);
		return *out ? 0 : -ENOMEM;
	}
	if (env_store && *env_store) {
		*out = strdup(env_store);
		return *out ? 0 : -ENOMEM;
	}
	vs_buf_addstr(&dir, cwd);
	for (;;) {
		size_t base = dir.len;
		char *slash;

		vs_buf_addstr(&dir, base > 1 ? "/" VS_STORE_DIRNAME
					     : VS_STORE_DIRNAME);
		if (stat(dir.data, &st) == 0 && S_ISDIR(st.st_mode)) {
			*out = vs_buf_detach(&dir, NULL);
			return 0;
		}
		vs_buf_setlen(&dir, base);
		slash = strrchr(dir.data, '/');
		if (!slash || base <= 1)
			break;
		vs_buf_setlen(&dir, slash == dir.data ? 1 : (size_t)(slash - dir.data));
	}
	vs_buf_release(&dir);
	return vs_error_set(err, VS_E_NOSTORE,
			    "no varve store found (use --store DIR, set "
			    "VARVE_STORE, or run 'varve init')");
}

/* --- chunks ---------------------------------------------------------------- */

static void chunk_size_key(const struct vs_id *id, uint8_t key[1 + VS_ID_LEN])
{
	key[0] = 'c';
	memcpy(key + 1, id->b, VS_ID_LEN);
}

bool vs_chunk_has(struct vs_store *s, const struct vs_id *id)
{
	uint8_t key[1 + VS_ID_LEN];

	chunk_size_key(id, key);
	return vs_kv_has(s->kv, VS_CF_META, key, sizeof(key));
}

int vs_chunk_put(struct vs_store *s, struct vs_zctx *z, const struct vs_id *id,
		 const void *data, size_t len, struct vs_put_stats *st,
		 struct vs_error *err)
{
	struct vs_buf val = VS_BUF_INIT, sizes = VS_BUF_INIT;
	uint8_t key[1 + VS_ID_LEN];
	struct vs_kv_batch *b;
	int r;

	/* The size record is written with the body: it stands for both. */
	if (vs_chunk_has(s, id))
		return 0;
	r = vs_codec_encode(z, data, len,
			    (s->config.format >= 2 ? VS_CODEC_ALLOW_PLANES : 0) |
			    (s->config.format >= 3 ? VS_CODEC_CHECKSUM : 0),
			    &val);
	if (r < 0) {
		vs_buf_release(&val);
		return vs_error_set(err, r, "cannot compress a chunk");
	}
	vs_buf_add_varint(&sizes, len);
	vs_buf_add_varint(&sizes, val.len);
	chunk_size_key(id, key);

	b = vs_kv_batch_new();
	vs_kv_batch_put(b, s->kv, VS_CF_CHUNKS, id->b, VS_ID_LEN, val.data,
			val.len);
	vs_kv_batch_put(b, s->kv, VS_CF_META, key, sizeof(key), sizes.data,
			sizes.len);
	r = vs_kv_write(s->kv, b, VS_KV_NOWAL, err);
	vs_kv_batch_free(b);
	if (r == 0 && st) {
		st->new_chunks++;
		st->new_raw_bytes += len;
		st->new_stored_bytes += val.len;
	}
	vs_buf_release(&sizes);
	vs_buf_release(&val);
	return r;
}

/*
 * Decodes the stored value of chunk id into out.  The codec checks a value
 * that carries a checksum; one without is re-hashed, as is every value when
 * rehash is set.
 */
static int chunk_decode(struct vs_zctx *z, const struct vs_id *id,
			const void *val, size_t len, bool rehash,
			struct vs_buf *out, struct vs_error *err)
{
	char hex[VS_ID_HEXLEN + 1];
	struct vs_id check;

	if (vs_codec_decode(z, val, len, out) < 0)
		goto corrupt;
	if (rehash || !vs_codec_has_checksum(val, len)) {
		vs_hash(out->data, out->len, &check);
		if (!vs_id_equal(&check, id))
			goto corrupt;
	}
	return 0;
corrupt:
	vs_buf_reset(out);
	return vs_error_set(err, VS_E_CORRUPT, "chunk %s is corrupt",
			    vs_id_to_hex(id, hex));
}

static int chunk_read(struct vs_store *s, struct vs_zctx *z,
		      const struct vs_id *id, bool rehash, struct vs_buf *out,
		      struct vs_error *err)
{
	char hex[VS_ID_HEXLEN + 1];
	struct vs_kv_pin *pin;
	const void *val;
	size_t len;
	int r;

	r = vs_kv_get_pinned(s->kv, VS_CF_CHUNKS, id->b, VS_ID_LEN, &val, &len,
			     &pin, err);
	if (r == VS_E_NOTFOUND)
		return vs_error_set(err, r, "chunk %s is missing",
				    vs_id_to_hex(id, hex));
	if (r < 0)
		return r;
	if (z) {
		r = chunk_decode(z, id, val, len, rehash, out, err);
	} else {
		pthread_mutex_lock(&s->zctx_lock);
		r = chunk_decode(s->zctx, id, val, len, rehash, out, err);
		pthread_mutex_unlock(&s->zctx_lock);
	}
	vs_kv_unpin(pin);
	return r;
}

int vs_chunk_get(struct vs_store *s, struct vs_zctx *z, const struct vs_id *id,
		 struct vs_buf *out, struct vs_error *err)
{
	return chunk_read(s, z, id, false, out, err);
}

int vs_chunk_get_rehashed(struct vs_store *s, struct vs_zctx *z,
			  const struct vs_id *id, struct vs_buf *out,
			  struct vs_error *err)
{
	return chunk_read(s, z, id, true, out, err);
}

/*
 * The decompression contexts of vs_chunk_read: one per thread that reads,
 * freed when the thread ends.  Decompression does not depend on a store's
 * level, so threads reading several stores share theirs.
 */
static pthread_key_t read_zctx_key;
static pthread_once_t read_zctx_once = PTHREAD_ONCE_INIT;

static void read_zctx_free(void *z)
{
	vs_zctx_free(z);
}

static void read_zctx_key_init(void)
{
	if (pthread_key_create(&read_zctx_key, read_zctx_free) != 0)
		abort();
}

int vs_chunk_read(struct vs_store *s, const struct vs_id *id,
		  struct vs_buf *out, struct vs_error *err)
{
	struct vs_zctx *z;

	pthread_once(&read_zctx_once, read_zctx_key_init);
	z = pthread_getspecific(read_zctx_key);
	if (!z) {
		z = vs_zctx_new(s->config.zstd_level);
		if (!z || pthread_setspecific(read_zctx_key, z) != 0)
			abort();
	}
	return chunk_read(s, z, id, false, out, err);
}

/* --- objects --------------------------------------------------------------- */

bool vs_object_has(struct vs_store *s, const struct vs_id *id)
{
	return vs_kv_has(s->kv, VS_CF_OBJECTS, id->b, VS_ID_LEN);
}

int vs_object_put(struct vs_store *s, const void *data, size_t len,
		  struct vs_id *id, struct vs_error *err)
{
	vs_hash(data, len, id);
	if (vs_object_has(s, id))
		return 0;
	return vs_kv_put(s->kv, VS_CF_OBJECTS, id->b, VS_ID_LEN, data, len,
			 err);
}

int vs_object_get(struct vs_store *s, const struct vs_id *id,
		  struct vs_buf *out, struct vs_error *err)
{
	char hex[VS_ID_HEXLEN + 1];
	struct vs_id check;
	int r;

	r = vs_kv_get(s->kv, VS_CF_OBJECTS, id->b, VS_ID_LEN, out, err);
	if (r == VS_E_NOTFOUND)
		return vs_error_set(err, r, "object %s is missing",
				    vs_id_to_hex(id, hex));
	if (r < 0)
		return r;
	vs_hash(out->data, out->len, &check);
	if (!vs_id_equal(&check, id)) {
		vs_buf_reset(out);
		return vs_error_set(err, VS_E_CORRUPT, "object %s is corrupt",
				    vs_id_to_hex(id, hex));
	}
	return 0;
}

static const char *type_name(int type)
{
	switch (type) {
	case VS_OBJ_FILE:
		return "file";
	case VS_OBJ_TREE:
		return "tree";
	case VS_OBJ_COMMIT:
		return "commit";
	default:
		return "unknown";
	}
}

/* Reads object id, expecting type; decode fills what dst points at. */
static int read_typed(struct vs_store *s, const struct vs_id *id, int type,
		      int (*decode)(void *dst, const void *data, size_t len),
		      void *dst, struct vs_error *err)
{
	struct vs_buf val = VS_BUF_INIT;
	char hex[VS_ID_HEXLEN + 1];
	int r, got;

	r = vs_object_get(s, id, &val, err);
	if (r < 0)
		goto out;
	got = vs_obj_type_of(val.data, val.len);
	if (got != type) {
		r = vs_error_set(err, VS_E_CORRUPT,
				 "object %s is a %s, not a %s",
				 vs_id_to_hex(id, hex), type_name(got),
				 type_name(type));
		goto out;
	}
	r = decode(dst, val.data, val.len);
	if (r < 0)
		vs_error_set(err, r, "%s %s cannot be decoded (%s)",
			     type_name(type), vs_id_to_hex(id, hex),
			     vs_strerror(r));
out:
	vs_buf_release(&val);
	return r;
}

static int decode_file(void *dst, const void *data, size_t len)
{
	return vs_file_decode(dst, data, len);
}

static int decode_tree(void *dst, const void *data, size_t len)
{
	return vs_tree_decode(dst, data, len);
}

static int decode_tree_view(void *dst, const void *data, size_t len)
{
	return vs_tree_view_decode(dst, data, len);
}

static int decode_commit(void *dst, const void *data, size_t len)
{
	return vs_commit_decode(dst, data, len);
}

int vs_store_read_file(struct vs_store *s, const struct vs_id *id,
		       struct vs_file *f, struct vs_error *err)
{
	vs_file_init(f);
	return read_typed(s, id, VS_OBJ_FILE, decode_file, f, err);
}

int vs_store_read_tree(struct vs_store *s, const struct vs_id *id,
		       struct vs_tree *t, struct vs_error *err)
{
	vs_tree_init(t);
	return read_typed(s, id, VS_OBJ_TREE, decode_tree, t, err);
}

int vs_store_read_tree_view(struct vs_store *s, const struct vs_id *id,
			    struct vs_tree_view *v, struct vs_error *err)
{
	vs_tree_view_init(v);
	return read_typed(s, id, VS_OBJ_TREE, decode_tree_view, v, err);
}

int vs_store_read_commit(struct vs_store *s, const struct vs_id *id,
			 struct vs_commit *c, struct vs_error *err)
{
	vs_commit_init(c);
	return read_typed(s, id, VS_OBJ_COMMIT, decode_commit, c, err);
}

int vs_store_write_file(struct vs_store *s, const struct vs_file *f,
			struct vs_id *id, struct vs_error *err)
{
	struct vs_buf enc = VS_BUF_INIT;
	int r;

	vs_file_encode(f, &enc);
	r = vs_object_put(s, enc.data, enc.len, id, err);
	vs_buf_release(&enc);
	return r;
}

int vs_store_write_tree(struct vs_store *s, const struct vs_tree *t,
			struct vs_id *id, struct vs_error *err)
{
	struct vs_buf enc = VS_BUF_INIT;
	int r;

	vs_tree_encode(t, &enc);
	r = vs_object_put(s, enc.data, enc.len, id, err);
	vs_buf_release(&enc);
	return r;
}

int vs_store_write_commit(struct vs_store *s, const struct vs_commit *c,
			  struct vs_id *id, struct vs_error *err)
{
	struct vs_buf enc = VS_BUF_INIT;
	int r;

	vs_commit_encode(c, &enc);
	r = vs_object_put(s, enc.data, enc.len, id, err);
	vs_buf_release(&enc);
	return r;
}

int vs_file_read(struct vs_store *s, struct vs_zctx *z, const struct vs_file *f,
		 uint64_t off, size_t len, struct vs_buf *out,
		 struct vs_error *err)
{
	struct vs_buf chunk = VS_BUF_INIT;
	size_t i;
	int r = 0;

	if (off >= f->size || len == 0)
		return 0;
	if (len > f->size - off)
		len = f->size - off;
	if (f->inline_data) {
		vs_buf_add(out, f->inline_data + off, len);
		return 0;
	}
	for (i = vs_file_find_chunk(f, off); i < f->nchunks && len > 0; i++) {
		const struct vs_chunk_ref *c = &f->chunks[i];
		size_t skip = off - c->offset, n;

		r = vs_chunk_get(s, z, &c->id, &chunk, err);
		if (r < 0)
			break;
		if (chunk.len != c->len) {
			char hex[VS_ID_HEXLEN + 1];

			r = vs_error_set(err, VS_E_CORRUPT,
					 "chunk %s has the wrong length",
					 vs_id_to_hex(&c->id, hex));
			break;
		}
		n = c->len - skip < len ? c->len - skip : len;
		vs_buf_add(out, chunk.data + skip, n);
		off += n;
		len -= n;
	}
	vs_buf_release(&chunk);
	return r;
}

int vs_file_read_all(struct vs_store *s, const struct vs_id *id,
		     struct vs_buf *out, struct vs_error *err)
{
	struct vs_file f;
	int r = vs_store_read_file(s, id, &f, err);

	if (r < 0)
		return r;
	r = vs_file_read(s, NULL, &f, 0, f.size, out, err);
	vs_file_release(&f);
	return r;
}

int vs_object_scan_prefix(struct vs_store *s, const char *hex,
			  int (*fn)(const struct vs_id *id, void *arg),
			  void *arg, struct vs_error *err)
{
	uint8_t start[VS_ID_LEN] = { 0 };
	size_t n = strlen(hex), nbytes = n / 2, i;
	struct vs_kv_iter *it;
	int r = 0;

	if (!vs_id_is_hex_prefix(hex))
		return vs_error_set(err, VS_E_INVAL, "'%s' is not an id prefix",
				    hex);
	for (i = 0; i < n; i++) {
		int v = hex[i] <= '9' ? hex[i] - '0' : (hex[i] | 0x20) - 'a' + 10;

		start[i / 2] |= (i % 2) ? v : v << 4;
	}
	/* Iterate the whole bytes of the prefix, then filter the odd digit. */
	it = vs_kv_iter_new(s->kv, VS_CF_OBJECTS, start, nbytes);
	if (n % 2)
		vs_kv_iter_seek(it, start, nbytes + 1);
	for (; vs_kv_iter_valid(it); vs_kv_iter_next(it)) {
		struct vs_id id;
		size_t klen;
		const uint8_t *k = vs_kv_iter_key(it, &klen);

		if (klen != VS_ID_LEN)
			continue;
		if ((n % 2) && (k[nbytes] >> 4) != (start[nbytes] >> 4))
			break;
		memcpy(id.b, k, VS_ID_LEN);
		r = fn(&id, arg);
		if (r)
			break;
	}
	r = vs_kv_iter_end(it, r, err);
	return r;
}
