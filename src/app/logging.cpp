#include "app/logging.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include <glib.h>

namespace vmcast::app {
namespace {

bool verbose_logging = false;

// systemd's way of saying stderr is the journal (systemd.exec(5)): $JOURNAL_STREAM names the
// device and inode of the stream it gave as stderr. GLib 2.74 recognises the journal only by
// the socket's path.
bool stderr_is_journal() {
    const char *stream = g_getenv("JOURNAL_STREAM");
    unsigned long long device = 0, inode = 0;
    struct stat info = {};
    return stream && sscanf(stream, "%llu:%llu", &device, &inode) == 2 &&
           fstat(STDERR_FILENO, &info) == 0 && info.st_dev == device && info.st_ino == inode;
}

// Messages go to journald with their priority when stderr is the journal.
const bool to_journal = stderr_is_journal();

const char *level_name(GLogLevelFlags level) {
    if (level & G_LOG_LEVEL_ERROR)
        return "error";
    if (level & G_LOG_LEVEL_CRITICAL)
        return "critical";
    if (level & G_LOG_LEVEL_WARNING)
        return "warning";
    if (level & G_LOG_LEVEL_MESSAGE)
        return "message";
    if (level & G_LOG_LEVEL_INFO)
        return "info";
    return "debug";
}

GLogWriterOutput write_line(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                            gpointer) {
    const char *domain = "vmcast";
    const char *message = "";
    for (gsize i = 0; i < n_fields; i++) {
        if (strcmp(fields[i].key, "GLIB_DOMAIN") == 0 && fields[i].length < 0)
            domain = static_cast<const char *>(fields[i].value);
        else if (strcmp(fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
            message = static_cast<const char *>(fields[i].value);
    }
    const bool important = level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING |
                                    G_LOG_LEVEL_MESSAGE);
    const bool app_info = (level & G_LOG_LEVEL_INFO) && strcmp(domain, "vmcast") == 0;
    if (!verbose_logging && !important && !app_info)
        return G_LOG_WRITER_HANDLED;
    if (to_journal &&
        g_log_writer_journald(level, fields, n_fields, nullptr) == G_LOG_WRITER_HANDLED)
        return G_LOG_WRITER_HANDLED;
    fprintf(stderr, "%s: %s: %s\n", domain, level_name(level), message);
    return G_LOG_WRITER_HANDLED;
}

} // namespace

void setup_logging(bool verbose) {
    verbose_logging = verbose;
    g_log_set_writer_func(write_line, nullptr, nullptr);
}

void print_error(const std::string &message) {
    // "<3>": the journal's stream reads a syslog priority before the line (err).
    fprintf(stderr, "%svmcast: %s\n", to_journal ? "<3>" : "", message.c_str());
}

} // namespace vmcast::app
