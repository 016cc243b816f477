#include "web/console_screenshots.h"

#include <gio/gio.h>

#include "frame/png_encoding.h"
#include "web/http_reply.h"

namespace vmcast::web {
namespace {

// A picture comes within a frame or two: the console renders one for request_picture.
constexpr guint kPictureTimeoutMs = 5000;

// What the worker thread reads: a copy of the picture.
struct PictureCopy {
    uint32_t width = 0;
    uint32_t height = 0;
    size_t stride = 0;
    std::vector<uint8_t> bgrx;
};

void delete_png(gpointer png) {
    delete static_cast<std::vector<uint8_t> *>(png);
}

// Returns the PNG, or why not as an error.
void encode_on_worker(GTask *task, gpointer, gpointer data, GCancellable *) {
    const auto *picture = static_cast<const PictureCopy *>(data);
    std::string error;
    std::vector<uint8_t> png =
        frame::encode_png(picture->width, picture->height, picture->stride, picture->bgrx, error);
    if (png.empty())
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", error.c_str());
    else
        g_task_return_pointer(task, new std::vector<uint8_t>(std::move(png)), delete_png);
}

} // namespace

ConsoleScreenshots::~ConsoleScreenshots() {
    if (auto *encoding = std::get_if<Encoding>(&state_))
        g_cancellable_cancel(encoding->cancellable.get());
    answer_all(nullptr, SOUP_STATUS_SERVICE_UNAVAILABLE, "the console went away");
}

void ConsoleScreenshots::answer_with_next_picture(SoupServerMessage *message,
                                                  ConsoleEncoder &encoder,
                                                  const std::function<void()> &request_picture,
                                                  std::string file_name) {
    auto waiting = std::make_unique<Waiting>();
    waiting->message.reset(SOUP_SERVER_MESSAGE(g_object_ref(message)));
    waiting->finished = SignalConnection(message, "finished", G_CALLBACK(on_finished), this);
    waiting->file_name = std::move(file_name);
    soup_server_message_pause(message);
    waiting_.push_back(std::move(waiting));
    if (!std::holds_alternative<Idle>(state_))
        return; // the picture asked for, or the one encoding, answers this one too
    // Replaces a capture left by a request that timed out, so one picture is encoded once.
    encoder.capture_next_picture(
        [this](const pipewire::ReadPicture &picture) { picture_arrived(picture); });
    state_ = AwaitingPicture{attach_timeout(
        kPictureTimeoutMs,
        [](gpointer self) -> gboolean {
            auto *screenshots = static_cast<ConsoleScreenshots *>(self);
            // The source is destroyed by answer_all's state change, safely: GLib holds it
            // while it dispatches.
            screenshots->answer_all(nullptr, SOUP_STATUS_GATEWAY_TIMEOUT,
                                    "no picture from the console within 5 s");
            return G_SOURCE_REMOVE;
        },
        this)};
    if (request_picture)
        request_picture();
}

void ConsoleScreenshots::picture_arrived(const pipewire::ReadPicture &picture) {
    if (!std::holds_alternative<AwaitingPicture>(state_))
        return; // a capture from a request that timed out
    if (waiting_.empty()) {
        state_ = Idle{}; // the browsers went away
        return;
    }
    auto *copy =
        new PictureCopy{picture.width, picture.height, picture.stride,
                        std::vector<uint8_t>(picture.pixels.begin(), picture.pixels.end())};
    Encoding encoding{GObjectPtr<GCancellable>(g_cancellable_new())};
    GObjectPtr<GTask> task(g_task_new(nullptr, encoding.cancellable.get(), on_encoded, this));
    g_task_set_task_data(task.get(), copy,
                         [](gpointer data) { delete static_cast<PictureCopy *>(data); });
    g_task_run_in_thread(task.get(), encode_on_worker);
    state_ = std::move(encoding);
}

void ConsoleScreenshots::on_encoded(GObject *, GAsyncResult *result, gpointer data) {
    GTask *task = G_TASK(result);
    // Only the destructor cancels: data is gone then, and the task frees the PNG.
    if (g_cancellable_is_cancelled(g_task_get_cancellable(task)))
        return;
    auto *self = static_cast<ConsoleScreenshots *>(data);
    GError *raw_error = nullptr;
    std::unique_ptr<std::vector<uint8_t>> png(
        static_cast<std::vector<uint8_t> *>(g_task_propagate_pointer(task, &raw_error)));
    GErrorPtr error(raw_error);
    self->answer_all(png.get(), SOUP_STATUS_INTERNAL_SERVER_ERROR,
                     error ? error->message : "cannot encode the picture as PNG");
}

void ConsoleScreenshots::answer_all(const std::vector<uint8_t> *png, guint status,
                                    const std::string &why) {
    state_ = Idle{};
    for (auto &waiting : std::exchange(waiting_, {})) {
        SoupServerMessage *message = waiting->message.get();
        waiting->finished.disconnect();
        set_private_headers(message);
        if (png) {
            const std::string disposition = "attachment; filename=\"" + waiting->file_name + "\"";
            soup_message_headers_replace(soup_server_message_get_response_headers(message),
                                         "Content-Disposition", disposition.c_str());
            soup_server_message_set_status(message, SOUP_STATUS_OK, nullptr);
            soup_server_message_set_response(message, "image/png", SOUP_MEMORY_COPY,
                                             reinterpret_cast<const char *>(png->data()),
                                             png->size());
        } else {
            g_info("web: screenshot refused: %s", why.c_str());
            refuse(message, status, (why + "\n").c_str());
        }
        soup_server_message_unpause(message);
    }
}

void ConsoleScreenshots::on_finished(SoupServerMessage *message, gpointer data) {
    auto *self = static_cast<ConsoleScreenshots *>(data);
    std::erase_if(self->waiting_, [message](const std::unique_ptr<Waiting> &waiting) {
        return waiting->message.get() == message;
    });
}

std::string screenshot_file_name(const std::string &vm_name, uint32_t console_index) {
    std::string name;
    for (char c : vm_name.substr(0, 64))
        name += g_ascii_isalnum(c) || c == '-' || c == '_' || c == '.' ? c : '_';
    GDateTimePtr now(g_date_time_new_now_local());
    GCharPtr stamp(g_date_time_format(now.get(), "%Y%m%d-%H%M%S"));
    return (name.empty() ? "vm" : name) + "-console-" + std::to_string(console_index) + "-" +
           stamp.get() + ".png";
}

} // namespace vmcast::web
