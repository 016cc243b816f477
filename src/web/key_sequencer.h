// Key strokes into the VM one at a time, paced: QEMU's PS/2 keyboard keeps 16 bytes for the
// guest (a key event is 1 to 3) and drops what comes when they are full, so a burst of strokes
// would lose keys. Keys the sequence pressed are released when it is cancelled or destroyed, so
// none stays held.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "common/glib_ptr.h"
#include "qemu/console_input.h"
#include "web/text_strokes.h"

namespace vmcast::web {

// One stroke every 10 ms: about 50 characters a second, 25 with Shift.
constexpr guint kStrokeIntervalMs = 10;

class KeySequencer {
  public:
    // finished: true when every stroke was sent, false when cancelled.
    using Done = std::function<void(bool finished)>;

    explicit KeySequencer(qemu::InputClient &input) : input_(input) {}
    KeySequencer(const KeySequencer &) = delete;
    KeySequencer &operator=(const KeySequencer &) = delete;
    // Stops without calling done; releases the keys the sequence holds.
    ~KeySequencer() { stop(); }

    bool busy() const { return run_.has_value(); }
    // The keys the sequence holds down now (Shift or AltGr mid-character, a combination's).
    std::vector<uint32_t> held() const { return run_ ? run_->held : std::vector<uint32_t>{}; }
    // Sends strokes in order; done runs once at the end. Only when not busy.
    void start(std::vector<KeyStroke> strokes, Done done);
    // Stops, releases the keys the sequence holds (last pressed first), and calls done(false).
    void cancel();

  private:
    struct Run {
        std::vector<KeyStroke> strokes;
        size_t next = 0;
        std::vector<uint32_t> held; // pressed by the sequence and not yet released
        Done done;
        GSourcePtr timer;
    };

    static gboolean on_tick(gpointer self);
    // Ends the run, releasing what it holds; its done callback, for the caller to run.
    Done stop();

    qemu::InputClient &input_;
    std::optional<Run> run_;
};

} // namespace vmcast::web
