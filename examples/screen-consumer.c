/* screen-consumer: the smallest PipeWire consumer of a vmcast screen node.
 *
 * Connects to PipeWire (no portal: a program of the user's own session may), links a stream to
 * the node named on the command line (e.g. vmcast.web1.0), prints the format PipeWire agreed
 * on and writes the first picture as a binary PPM file.
 *
 * Build: cc screen-consumer.c -o screen-consumer $(pkg-config --cflags --libs libpipewire-0.3)
 */
#include <errno.h>
#include <pipewire/pipewire.h>
#include <spa/debug/types.h>
#include <spa/param/video/format-utils.h>
#include <spa/param/video/type-info.h>
#include <stdio.h>
#include <string.h>

struct consumer {
    const char *ppm_path;
    struct pw_main_loop *loop;
    struct pw_stream *stream;
    struct spa_video_info_raw format;
    int exit_code;
};

static void stop(struct consumer *consumer, int exit_code) {
    consumer->exit_code = exit_code;
    pw_main_loop_quit(consumer->loop);
}

static int write_ppm(const char *path, const struct spa_video_info_raw *format,
                     const uint8_t *pixels, uint32_t stride) {
    FILE *file = fopen(path, "wb");
    if (!file)
        return -errno;
    /* Byte offsets of red and blue in a pixel; green is always byte 1. */
    int red =
        format->format == SPA_VIDEO_FORMAT_RGBx || format->format == SPA_VIDEO_FORMAT_RGBA ? 0 : 2;
    fprintf(file, "P6\n%u %u\n255\n", format->size.width, format->size.height);
    for (uint32_t y = 0; y < format->size.height; y++) {
        const uint8_t *row = pixels + (size_t)y * stride;
        for (uint32_t x = 0; x < format->size.width; x++) {
            const uint8_t rgb[3] = {row[x * 4 + red], row[x * 4 + 1], row[x * 4 + 2 - red]};
            fwrite(rgb, 1, sizeof(rgb), file);
        }
    }
    int result = ferror(file) ? -EIO : 0;
    if (fclose(file) != 0 && result == 0)
        result = -errno;
    return result;
}

static void on_param_changed(void *data, uint32_t id, const struct spa_pod *param) {
    struct consumer *consumer = data;
    if (id != SPA_PARAM_Format || !param)
        return;
    if (spa_format_video_raw_parse(param, &consumer->format) < 0) {
        fprintf(stderr, "screen-consumer: the node offered a format this program cannot read\n");
        stop(consumer, 1);
        return;
    }
    printf("format: %s %ux%u\n",
           spa_debug_type_find_short_name(spa_type_video_format, consumer->format.format),
           consumer->format.size.width, consumer->format.size.height);
    fflush(stdout);
}

static void on_process(void *data) {
    struct consumer *consumer = data;
    struct pw_buffer *buffer = pw_stream_dequeue_buffer(consumer->stream);
    if (!buffer)
        return;
    const struct spa_data *plane = &buffer->buffer->datas[0];
    uint32_t width = consumer->format.size.width, height = consumer->format.size.height;
    uint32_t stride = plane->chunk->stride > 0 ? (uint32_t)plane->chunk->stride : width * 4;
    /* Only a buffer with a whole picture: vmcast also sends buffers with no pixels (size 0). */
    if (plane->data && width > 0 && plane->chunk->size > 0 && stride >= width * 4 &&
        plane->chunk->offset + (uint64_t)stride * height <= plane->maxsize) {
        int result = write_ppm(consumer->ppm_path, &consumer->format,
                               (const uint8_t *)plane->data + plane->chunk->offset, stride);
        if (result < 0)
            fprintf(stderr, "screen-consumer: cannot write %s: %s\n", consumer->ppm_path,
                    strerror(-result));
        stop(consumer, result < 0 ? 1 : 0);
    }
    pw_stream_queue_buffer(consumer->stream, buffer);
}

static void on_state_changed(void *data, enum pw_stream_state old, enum pw_stream_state state,
                             const char *error) {
    struct consumer *consumer = data;
    (void)old;
    if (state == PW_STREAM_STATE_ERROR) {
        fprintf(stderr, "screen-consumer: stream error: %s\n", error ? error : "unknown");
        stop(consumer, 1);
    }
}

static const struct pw_stream_events stream_events = {
    PW_VERSION_STREAM_EVENTS,
    .state_changed = on_state_changed,
    .param_changed = on_param_changed,
    .process = on_process,
};

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr,
                "usage: screen-consumer NODE_NAME OUTPUT.ppm   (e.g. vmcast.web1.0 web1.ppm)\n");
        return 2;
    }
    pw_init(&argc, &argv);
    struct consumer consumer = {
        .ppm_path = argv[2], .loop = pw_main_loop_new(NULL), .exit_code = 1};
    consumer.stream =
        pw_stream_new_simple(pw_main_loop_get_loop(consumer.loop), "screen-consumer",
                             pw_properties_new(PW_KEY_MEDIA_TYPE, "Video", PW_KEY_MEDIA_CATEGORY,
                                               "Capture", PW_KEY_TARGET_OBJECT, argv[1], NULL),
                             &stream_events, &consumer);
    if (!consumer.stream) {
        fprintf(stderr, "screen-consumer: cannot create a PipeWire stream: %s\n", strerror(errno));
        return 1;
    }

    /* The 32-bit RGB orders a screen node offers, in shared memory (no modifier: no DMA-BUF). */
    uint8_t pod_buffer[1024];
    struct spa_pod_builder builder = SPA_POD_BUILDER_INIT(pod_buffer, sizeof(pod_buffer));
    const struct spa_pod *params[1];
    params[0] = spa_pod_builder_add_object(
        &builder, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat, SPA_FORMAT_mediaType,
        SPA_POD_Id(SPA_MEDIA_TYPE_video), SPA_FORMAT_mediaSubtype,
        SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw), SPA_FORMAT_VIDEO_format,
        SPA_POD_CHOICE_ENUM_Id(5, SPA_VIDEO_FORMAT_BGRx, SPA_VIDEO_FORMAT_BGRx,
                               SPA_VIDEO_FORMAT_RGBx, SPA_VIDEO_FORMAT_BGRA, SPA_VIDEO_FORMAT_RGBA),
        SPA_FORMAT_VIDEO_size,
        SPA_POD_CHOICE_RANGE_Rectangle(&SPA_RECTANGLE(1024, 768), &SPA_RECTANGLE(1, 1),
                                       &SPA_RECTANGLE(16384, 16384)),
        SPA_FORMAT_VIDEO_framerate,
        SPA_POD_CHOICE_RANGE_Fraction(&SPA_FRACTION(0, 1), &SPA_FRACTION(0, 1),
                                      &SPA_FRACTION(1000, 1)));
    int result =
        pw_stream_connect(consumer.stream, PW_DIRECTION_INPUT, PW_ID_ANY,
                          PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS, params, 1);
    if (result < 0)
        fprintf(stderr, "screen-consumer: cannot connect to PipeWire: %s\n", strerror(-result));
    else
        pw_main_loop_run(consumer.loop);

    pw_stream_destroy(consumer.stream);
    pw_main_loop_destroy(consumer.loop);
    pw_deinit();
    return consumer.exit_code;
}
