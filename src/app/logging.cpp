#include "app/logging.h"

#include <cstdio>
#include <cstring>

#include <glib.h>

namespace vmcast::app {
namespace {

bool verbose_logging = false;
// stderr is the journal (a systemd service's): messages go to journald with their priority.
bool to_journal = false;

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
    to_journal = g_log_writer_is_journald(fileno(stderr));
    g_log_set_writer_func(write_line, nullptr, nullptr);
}

} // namespace vmcast::app
