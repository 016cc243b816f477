// The page's screenshot button: GET /screenshot answers with a PNG of the console at its own
// size. The picture is the next one the console's encoder reads from the console's PipeWire node,
// so the web side takes it from what it already receives, and never reaches back into QEMU or the
// compositor; that needs a viewer watching the console, which the page asking is. The PNG is
// encoded on a worker thread (40-90 ms for 1080p here, bench/png_encode): the main loop drives
// every stream and must not stall for it.
#pragma once

#include <libsoup/soup.h>

#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "common/glib_ptr.h"
#include "pipewire/node_reader.h"
#include "web/console_encoder.h"

namespace vmcast::web {

class ConsoleScreenshots {
  public:
    ConsoleScreenshots() = default;
    ConsoleScreenshots(const ConsoleScreenshots &) = delete;
    ConsoleScreenshots &operator=(const ConsoleScreenshots &) = delete;
    // Requests still waiting get 503.
    ~ConsoleScreenshots();

    // Holds message until the encoder's next picture (request_picture makes one come on a still
    // screen), then answers it with that picture as file_name, a PNG download; or with 504 when
    // none comes in time. The encoder must be reading and outlive neither this nor its captures.
    void answer_with_next_picture(SoupServerMessage *message, ConsoleEncoder &encoder,
                                  const std::function<void()> &request_picture,
                                  std::string file_name);

  private:
    struct Waiting {
        GObjectPtr<SoupServerMessage> message;
        SignalConnection finished; // the browser went away before the answer
        std::string file_name;
    };

    // Nothing asked for; requests coming then ask the encoder for its next picture.
    struct Idle {};
    // The encoder's next picture answers the waiting requests, unless the timeout comes first.
    struct AwaitingPicture {
        GSourcePtr timeout;
    };
    // A worker encodes the picture; requests coming meanwhile share its PNG. Cancelled when
    // this goes first, which tells the task's callback not to touch it.
    struct Encoding {
        GObjectPtr<GCancellable> cancellable;
    };

    // Copies the picture and encodes the copy on a worker thread.
    void picture_arrived(const pipewire::ReadPicture &picture);
    // The worker's PNG or error, on the main loop.
    static void on_encoded(GObject *, GAsyncResult *result, gpointer self);
    // Answers every waiting request: with the PNG when png is set, else with status and a line.
    void answer_all(const std::vector<uint8_t> *png, guint status, const std::string &why);
    static void on_finished(SoupServerMessage *message, gpointer self);

    std::vector<std::unique_ptr<Waiting>> waiting_;
    std::variant<Idle, AwaitingPicture, Encoding> state_;
};

// NAME-console-N-YYYYMMDD-HHMMSS.png, with what could upset a file system in NAME replaced.
std::string screenshot_file_name(const std::string &vm_name, uint32_t console_index);

} // namespace vmcast::web
