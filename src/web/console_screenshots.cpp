#include "web/console_screenshots.h"

#include <gio/gio.h>

#include "frame/png_encoding.h"
#include "web/http_reply.h"

namespace vmcast::web {
namespace {

// A picture comes within a frame or two: the console renders one for request_picture.
constexpr guint kPictureTimeoutMs = 5000;

// What the worker thread owns: a copy of the picture, and where to send the PNG.
struct Encoding {
    uint32_t width = 0;
    uint32_t height = 0;
    size_t stride = 0;
    std::vector<uint8_t> bgrx;
    std::function<void(std::vector<uint8_t> png, std::string error)> done; // posts to the loop
};

void encode_on_worker(GTask *, gpointer, gpointer data, GCancellable *) {
    auto *encoding = static_cast<Encoding *>(data);
    std::string error;
    std::vector<uint8_t> png = frame::encode_png(encoding->width, encoding->height,
                                                 encoding->stride, encoding->bgrx, error);
    encoding->done(std::move(png), std::move(error));
}

} // namespace

ConsoleScreenshots::~ConsoleScreenshots() {
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
    if (waiting_.size() > 1)
        return; // the picture asked for already answers this one too
    encoder.capture_next_picture(
        [this](const pipewire::ReadPicture &picture) { picture_arrived(picture); });
    timeout_ = attach_timeout(
        kPictureTimeoutMs,
        [](gpointer self) -> gboolean {
            auto *screenshots = static_cast<ConsoleScreenshots *>(self);
            screenshots->answer_all(nullptr, SOUP_STATUS_GATEWAY_TIMEOUT,
                                    "no picture from the console within 5 s");
            return G_SOURCE_REMOVE;
        },
        this);
    if (request_picture)
        request_picture();
}

void ConsoleScreenshots::picture_arrived(const pipewire::ReadPicture &picture) {
    if (waiting_.empty())
        return;       // answered already (timed out, or the browsers went away)
    timeout_.reset(); // the picture is here; requests coming while it encodes share it
    auto *encoding =
        new Encoding{picture.width, picture.height, picture.stride,
                     std::vector<uint8_t>(picture.pixels.begin(), picture.pixels.end()), nullptr};
    encoding->done = [this, lifeline = lifeline_.handle()](std::vector<uint8_t> png,
                                                           std::string error) {
        lifeline.post([this, png = std::move(png), error = std::move(error)] {
            answer_all(png.empty() ? nullptr : &png, SOUP_STATUS_INTERNAL_SERVER_ERROR, error);
        });
    };
    GObjectPtr<GTask> task(g_task_new(nullptr, nullptr, nullptr, nullptr));
    g_task_set_task_data(task.get(), encoding,
                         [](gpointer data) { delete static_cast<Encoding *>(data); });
    g_task_run_in_thread(task.get(), encode_on_worker);
}

void ConsoleScreenshots::answer_all(const std::vector<uint8_t> *png, guint status,
                                    const std::string &why) {
    timeout_.reset();
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
