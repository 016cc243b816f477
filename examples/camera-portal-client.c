/* camera-portal-client: what a desktop app does to use a vmcast console as a camera.
 *
 * Asks the Camera portal (xdg-desktop-portal) for access, opens the PipeWire connection the
 * portal hands out (it shows only camera nodes), lists the cameras on it and writes one frame of
 * the one named on the command line as a PNG file. libportal 0.6, PipeWire 0.3, libpng; the
 * PipeWire loop runs inside the GLib main loop that libportal needs.
 *
 * Build: cc camera-portal-client.c -o camera-portal-client \
 *          $(pkg-config --cflags --libs libportal libpipewire-0.3 libpng)
 */
#include <errno.h>
#include <glib-unix.h>
#include <libportal/portal.h>
#include <pipewire/pipewire.h>
#include <png.h>
#include <spa/debug/types.h>
#include <spa/param/video/format-utils.h>
#include <spa/param/video/type-info.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum exit_code {
    EXIT_USAGE = 1,
    EXIT_NO_PORTAL = 2,
    EXIT_ACCESS_DENIED = 3,
    EXIT_NO_CAMERA = 4,
    EXIT_TIMEOUT = 5,
    EXIT_FAILED = 6,
};

struct client {
    const char *camera_name; /* NULL: list the cameras and exit */
    const char *png_path;
    GMainLoop *main_loop;
    guint timeout_source;
    int exit_code;
    XdpPortal *portal;
    struct pw_loop *pw_loop;
    struct pw_context *context;
    struct pw_core *core;
    struct spa_hook core_listener;
    struct pw_registry *registry;
    struct spa_hook registry_listener;
    int granted_sync; /* 0 until WirePlumber has granted this client its objects */
    unsigned cameras_listed;
    struct pw_stream *stream; /* once the named camera is on the registry */
    struct spa_hook stream_listener;
    struct spa_video_info_raw format;
};

/* Ends the program with this code; the first reason given is the one printed. */
static void finish(struct client *client, int code, const char *reason, ...) G_GNUC_PRINTF(3, 4);
static void finish(struct client *client, int code, const char *reason, ...) {
    if (!g_main_loop_is_running(client->main_loop))
        return;
    if (reason) {
        va_list args;
        va_start(args, reason);
        fputs("camera-portal-client: ", stderr);
        vfprintf(stderr, reason, args);
        fputc('\n', stderr);
        va_end(args);
    }
    client->exit_code = code;
    g_main_loop_quit(client->main_loop);
}

/* Writes the picture as an 8-bit RGB PNG (the alpha of a camera frame is opaque). */
static int write_png(const char *path, const struct spa_video_info_raw *format,
                     const uint8_t *pixels, uint32_t stride) {
    FILE *file = fopen(path, "wb");
    if (!file)
        return -errno;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    uint8_t *row = malloc((size_t)format->size.width * 3);
    int result = -EIO;
    if (png && info && row && setjmp(png_jmpbuf(png)) == 0) {
        /* Byte offsets of red and blue in a pixel; green is always byte 1. */
        int red = format->format == SPA_VIDEO_FORMAT_RGBA || format->format == SPA_VIDEO_FORMAT_RGBx
                      ? 0
                      : 2;
        png_init_io(png, file);
        png_set_IHDR(png, info, format->size.width, format->size.height, 8, PNG_COLOR_TYPE_RGB,
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);
        for (uint32_t y = 0; y < format->size.height; y++) {
            const uint8_t *in = pixels + (size_t)y * stride;
            for (uint32_t x = 0; x < format->size.width; x++) {
                row[x * 3] = in[x * 4 + red];
                row[x * 3 + 1] = in[x * 4 + 1];
                row[x * 3 + 2] = in[x * 4 + 2 - red];
            }
            png_write_row(png, row);
        }
        png_write_end(png, NULL);
        result = 0;
    }
    png_destroy_write_struct(&png, &info);
    free(row);
    if (fclose(file) != 0 && result == 0)
        result = -errno;
    return result;
}

static void on_stream_param_changed(void *data, uint32_t id, const struct spa_pod *param) {
    struct client *client = data;
    if (id != SPA_PARAM_Format || !param)
        return;
    if (spa_format_video_raw_parse(param, &client->format) < 0) {
        finish(client, EXIT_FAILED, "the camera offered a format this program cannot read");
        return;
    }
    printf("format: %s %ux%u\n",
           spa_debug_type_find_short_name(spa_type_video_format, client->format.format),
           client->format.size.width, client->format.size.height);
}

static void on_stream_process(void *data) {
    struct client *client = data;
    struct pw_buffer *buffer = pw_stream_dequeue_buffer(client->stream);
    if (!buffer)
        return;
    const struct spa_data *plane = &buffer->buffer->datas[0];
    const struct spa_video_info_raw *format = &client->format;
    uint32_t stride =
        plane->chunk->stride > 0 ? (uint32_t)plane->chunk->stride : format->size.width * 4;
    /* Skip what is not a whole picture: a buffer without mapped memory or without pixels. */
    if (plane->data && format->size.width > 0 && stride >= format->size.width * 4 &&
        plane->chunk->offset + (uint64_t)stride * format->size.height <= plane->maxsize &&
        !(plane->chunk->flags & SPA_CHUNK_FLAG_CORRUPTED) && plane->chunk->size > 0) {
        int result = write_png(client->png_path, format,
                               (const uint8_t *)plane->data + plane->chunk->offset, stride);
        if (result < 0)
            finish(client, EXIT_FAILED, "cannot write %s: %s", client->png_path, strerror(-result));
        else
            finish(client, EXIT_SUCCESS, NULL);
    }
    pw_stream_queue_buffer(client->stream, buffer);
}

static void on_stream_state_changed(void *data, enum pw_stream_state old,
                                    enum pw_stream_state state, const char *error) {
    struct client *client = data;
    (void)old;
    if (state == PW_STREAM_STATE_ERROR)
        finish(client, EXIT_FAILED, "stream error: %s", error ? error : "unknown");
}

static const struct pw_stream_events stream_events = {
    PW_VERSION_STREAM_EVENTS,
    .state_changed = on_stream_state_changed,
    .param_changed = on_stream_param_changed,
    .process = on_stream_process,
};

static void consume_camera(struct client *client) {
    client->stream =
        pw_stream_new(client->core, "camera-portal-client",
                      pw_properties_new(PW_KEY_MEDIA_TYPE, "Video", PW_KEY_MEDIA_CATEGORY,
                                        "Capture", PW_KEY_MEDIA_ROLE, "Camera",
                                        PW_KEY_TARGET_OBJECT, client->camera_name, NULL));
    if (!client->stream) {
        finish(client, EXIT_FAILED, "cannot create a PipeWire stream: %s", strerror(errno));
        return;
    }
    pw_stream_add_listener(client->stream, &client->stream_listener, &stream_events, client);

    /* Every 32-bit RGB order; any size and rate (the camera's are fixed). */
    uint8_t pod_buffer[1024];
    struct spa_pod_builder builder = SPA_POD_BUILDER_INIT(pod_buffer, sizeof(pod_buffer));
    const struct spa_pod *params[1];
    params[0] = spa_pod_builder_add_object(
        &builder, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat, SPA_FORMAT_mediaType,
        SPA_POD_Id(SPA_MEDIA_TYPE_video), SPA_FORMAT_mediaSubtype,
        SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw), SPA_FORMAT_VIDEO_format,
        SPA_POD_CHOICE_ENUM_Id(5, SPA_VIDEO_FORMAT_BGRA, SPA_VIDEO_FORMAT_BGRA,
                               SPA_VIDEO_FORMAT_RGBA, SPA_VIDEO_FORMAT_BGRx, SPA_VIDEO_FORMAT_RGBx),
        SPA_FORMAT_VIDEO_size,
        SPA_POD_CHOICE_RANGE_Rectangle(&SPA_RECTANGLE(640, 480), &SPA_RECTANGLE(1, 1),
                                       &SPA_RECTANGLE(16384, 16384)),
        SPA_FORMAT_VIDEO_framerate,
        SPA_POD_CHOICE_RANGE_Fraction(&SPA_FRACTION(30, 1), &SPA_FRACTION(0, 1),
                                      &SPA_FRACTION(1000, 1)));
    int result =
        pw_stream_connect(client->stream, PW_DIRECTION_INPUT, PW_ID_ANY,
                          PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS, params, 1);
    if (result < 0)
        finish(client, EXIT_FAILED, "cannot connect the stream: %s", strerror(-result));
}

/* Through the portal's connection only the cameras are visible: every video source is one.
 * WirePlumber makes them visible right after it connected: first this client's own object,
 * then each camera, in a row. */
static void on_registry_global(void *data, uint32_t id, uint32_t permissions, const char *type,
                               uint32_t version, const struct spa_dict *props) {
    struct client *client = data;
    (void)id, (void)permissions, (void)version;
    if (strcmp(type, PW_TYPE_INTERFACE_Client) == 0 && client->granted_sync == 0) {
        /* Answered once PipeWire has handled the grants that came with this one. */
        client->granted_sync = pw_core_sync(client->core, PW_ID_CORE, 0);
        return;
    }
    if (strcmp(type, PW_TYPE_INTERFACE_Node) != 0 || !props)
        return;
    const char *media_class = spa_dict_lookup(props, PW_KEY_MEDIA_CLASS);
    const char *name = spa_dict_lookup(props, PW_KEY_NODE_NAME);
    if (!media_class || strcmp(media_class, "Video/Source") != 0 || !name)
        return;
    const char *description = spa_dict_lookup(props, PW_KEY_NODE_DESCRIPTION);
    const char *role = spa_dict_lookup(props, PW_KEY_MEDIA_ROLE);
    printf("camera: %s\t%s\t(media.role %s)\n", name, description ? description : "",
           role ? role : "unset");
    fflush(stdout);
    client->cameras_listed++;
    if (client->camera_name && !client->stream && strcmp(name, client->camera_name) == 0)
        consume_camera(client);
}

static const struct pw_registry_events registry_events = {
    PW_VERSION_REGISTRY_EVENTS,
    .global = on_registry_global,
};

static void on_core_done(void *data, uint32_t id, int seq) {
    struct client *client = data;
    if (id != PW_ID_CORE || seq != client->granted_sync)
        return;
    /* The cameras are listed. A named camera that is not there yet may still come (it may be
     * being created, or granted late): wait for it until the timeout. */
    if (client->camera_name)
        return;
    if (client->cameras_listed == 0)
        finish(client, EXIT_NO_CAMERA, "the portal shows no camera");
    else
        finish(client, EXIT_SUCCESS, NULL);
}

static void on_core_error(void *data, uint32_t id, int seq, int res, const char *message) {
    struct client *client = data;
    (void)seq;
    if (id == PW_ID_CORE)
        finish(client, EXIT_FAILED, "PipeWire error: %s (%s)", message, strerror(-res));
}

static const struct pw_core_events core_events = {
    PW_VERSION_CORE_EVENTS,
    .done = on_core_done,
    .error = on_core_error,
};

static gboolean on_pipewire_fd(gint fd, GIOCondition condition, gpointer data) {
    struct client *client = data;
    (void)fd, (void)condition;
    pw_loop_iterate(client->pw_loop, 0);
    return G_SOURCE_CONTINUE;
}

static void connect_pipewire(struct client *client) {
    int fd = xdp_portal_open_pipewire_remote_for_camera(client->portal);
    if (fd < 0) {
        finish(client, EXIT_ACCESS_DENIED, "the portal gives no PipeWire connection for cameras");
        return;
    }
    client->core = pw_context_connect_fd(client->context, fd, NULL, 0);
    if (!client->core) {
        finish(client, EXIT_FAILED, "cannot connect to PipeWire: %s", strerror(errno));
        return;
    }
    pw_core_add_listener(client->core, &client->core_listener, &core_events, client);
    client->registry = pw_core_get_registry(client->core, PW_VERSION_REGISTRY, 0);
    pw_registry_add_listener(client->registry, &client->registry_listener, &registry_events,
                             client);
}

static void on_access_camera(GObject *source, GAsyncResult *result, gpointer data) {
    struct client *client = data;
    g_autoptr(GError) error = NULL;
    if (xdp_portal_access_camera_finish(XDP_PORTAL(source), result, &error))
        connect_pipewire(client);
    else if (error->domain == G_DBUS_ERROR) /* no portal on the bus, or one without Camera */
        finish(client, EXIT_NO_PORTAL, "no Camera portal: %s", error->message);
    else
        finish(client, EXIT_ACCESS_DENIED, "camera access denied: %s", error->message);
}

static gboolean on_timeout(gpointer data) {
    struct client *client = data;
    if (client->camera_name && !client->stream)
        finish(client, EXIT_NO_CAMERA, "no camera named %s", client->camera_name);
    else
        finish(client, EXIT_TIMEOUT, "timed out");
    client->timeout_source = 0;
    return G_SOURCE_REMOVE;
}

static const char usage_text[] =
    "Lists the cameras that the Camera portal shows; with NODE_NAME, writes one frame of that\n"
    "camera (e.g. vmcast.web1.0.camera) to OUTPUT.png.\n\n"
    "Exit status: 0 done, 1 usage, 2 no Camera portal, 3 camera access denied, 4 no camera (of\n"
    "that name), 5 timed out waiting for a frame, 6 PipeWire or file error.";

int main(int argc, char **argv) {
    int timeout_seconds = 10;
    GOptionEntry entries[] = {
        {"timeout", 't', 0, G_OPTION_ARG_INT, &timeout_seconds, "Give up after SECONDS (10)",
         "SECONDS"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    g_autoptr(GOptionContext) options = g_option_context_new("[NODE_NAME OUTPUT.png]");
    g_option_context_add_main_entries(options, entries, NULL);
    g_option_context_set_description(options, usage_text);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(options, &argc, &argv, &error) || (argc != 1 && argc != 3) ||
        timeout_seconds <= 0) {
        fprintf(stderr, "camera-portal-client: %s (see --help)\n",
                error ? error->message : "bad arguments");
        return EXIT_USAGE;
    }

    pw_init(&argc, &argv);
    struct client client = {
        .camera_name = argc == 3 ? argv[1] : NULL,
        .png_path = argc == 3 ? argv[2] : NULL,
        .main_loop = g_main_loop_new(NULL, FALSE),
        .exit_code = EXIT_FAILED,
        .portal = xdp_portal_new(),
        .pw_loop = pw_loop_new(NULL),
    };
    client.context = pw_context_new(client.pw_loop, NULL, 0);
    /* PipeWire's loop runs its callbacks when its fd says so, from the GLib loop. */
    pw_loop_enter(client.pw_loop);
    guint pw_source =
        g_unix_fd_add(pw_loop_get_fd(client.pw_loop), G_IO_IN, on_pipewire_fd, &client);
    client.timeout_source = g_timeout_add_seconds((guint)timeout_seconds, on_timeout, &client);
    /* "" parent: no window. An unsandboxed program's app id is "" in the portal's permissions. */
    xdp_portal_access_camera(client.portal, NULL, XDP_CAMERA_FLAG_NONE, NULL, on_access_camera,
                             &client);
    g_main_loop_run(client.main_loop);

    if (client.timeout_source)
        g_source_remove(client.timeout_source);
    g_source_remove(pw_source);
    if (client.stream)
        pw_stream_destroy(client.stream);
    if (client.registry)
        pw_proxy_destroy((struct pw_proxy *)client.registry);
    if (client.core)
        pw_core_disconnect(client.core);
    pw_context_destroy(client.context);
    pw_loop_leave(client.pw_loop);
    pw_loop_destroy(client.pw_loop);
    g_object_unref(client.portal);
    g_main_loop_unref(client.main_loop);
    pw_deinit();
    return client.exit_code;
}
