/* SPDX-License-Identifier: Apache-2.0 */
/* Clocks, /proc readings and small helpers for m2m-bench. */
#include <dirent.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sum of the per-thread scheduler run times (nanoseconds, /proc/PID/task/TID/schedstat): finer than the 10 ms
 * ticks of /proc/PID/stat. Threads that exited are missed, which is fine for long-lived server workers. */
static double proc_cpu_schedstat(int pid)
{
    char path[64];
    DIR *d;
    struct dirent *de;
    double total = 0;
    int found = 0;

    snprintf(path, sizeof path, "/proc/%d/task", pid);
    d = opendir(path);
    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        char p[320];
        unsigned long long ns;
        FILE *f;
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", pid, de->d_name);
        f = fopen(p, "r");
        if (f == NULL)
            continue;
        if (fscanf(f, "%llu", &ns) == 1) {
            total += (double)ns / 1e9;
            found = 1;
        }
        fclose(f);
    }
    closedir(d);
    return found ? total : -1;
}

double bench_proc_cpu(int pid)
{
    char path[64], buf[2048], *p;
    unsigned long utime, stime;
    FILE *f;
    double s;

    if (pid <= 0)
        return -1;
    if ((s = proc_cpu_schedstat(pid)) >= 0)
        return s;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    p = fgets(buf, sizeof buf, f);
    fclose(f);
    if (p == NULL || (p = strrchr(buf, ')')) == NULL)
        return -1;
    /* after ") ": state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

long bench_proc_rss_kib(int pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

double bench_self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

void bench_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

void bench_ssl_error(char *buf, size_t cap, const char *what)
{
    unsigned long e = ERR_get_error();
    char s[256] = "no OpenSSL error queued";
    if (e != 0)
        ERR_error_string_n(e, s, sizeof s);
    snprintf(buf, cap, "%s: %s", what, s);
    ERR_clear_error();
}
