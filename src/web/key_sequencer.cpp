#include "web/key_sequencer.h"

#include <algorithm>
#include <utility>

namespace vmcast::web {

void KeySequencer::start(std::vector<KeyStroke> strokes, Done done) {
    if (busy())
        return;
    run_.emplace(Run{});
    run_->strokes = std::move(strokes);
    run_->done = std::move(done);
    run_->timer = attach_timeout(kStrokeIntervalMs, on_tick, this);
}

void KeySequencer::cancel() {
    if (Done done = stop())
        done(false);
}

KeySequencer::Done KeySequencer::stop() {
    if (!run_)
        return nullptr;
    for (auto key = run_->held.rbegin(); key != run_->held.rend(); ++key)
        input_.release_key(*key);
    Done done = std::move(run_->done);
    run_.reset();
    return done;
}

gboolean KeySequencer::on_tick(gpointer data) {
    auto *self = static_cast<KeySequencer *>(data);
    Run &run = *self->run_;
    if (run.next < run.strokes.size()) {
        const KeyStroke stroke = run.strokes[run.next++];
        if (stroke.down) {
            self->input_.press_key(stroke.qnum);
            run.held.push_back(stroke.qnum);
        } else {
            self->input_.release_key(stroke.qnum);
            run.held.erase(std::remove(run.held.begin(), run.held.end(), stroke.qnum),
                           run.held.end());
        }
    }
    if (run.next < run.strokes.size())
        return G_SOURCE_CONTINUE;
    // Destroying the timer from its own callback is safe: GLib holds it during the dispatch.
    Done done = self->stop();
    if (done)
        done(true);
    return G_SOURCE_REMOVE;
}

} // namespace vmcast::web
