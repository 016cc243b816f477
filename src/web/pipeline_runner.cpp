#include "web/pipeline_runner.h"

#include <atomic>
#include <mutex>

namespace vmcast::web {

struct PipelineRunner::Shared {
    GstElement *pipeline; // a reference of our own
    std::string name;
    std::mutex applying; // one change at a time, whichever worker thread runs it
    std::atomic<GstState> wanted{GST_STATE_NULL};
    std::atomic<int> changes_queued{0};

    ~Shared() { gst_object_unref(pipeline); }

    void apply() {
        std::lock_guard lock(applying);
        const GstState state = wanted.load();
        const GstStateChangeReturn result = gst_element_set_state(pipeline, state);
        g_debug("%s: encoder %s (%s)", name.c_str(),
                state == GST_STATE_PLAYING ? "started" : "stopped",
                gst_element_state_change_return_get_name(result));
    }
};

PipelineRunner::PipelineRunner(GstElement *pipeline, std::string name)
    : shared_(std::make_shared<Shared>(static_cast<GstElement *>(gst_object_ref(pipeline)),
                                       std::move(name))) {}

PipelineRunner::~PipelineRunner() {
    shared_->wanted = GST_STATE_NULL;
    if (shared_->changes_queued == 0)
        shared_->apply(); // nothing to wait for: stopping a running pipeline does not block
    else
        queue_change(); // the queued change holds the pipeline until it has stopped it
}

void PipelineRunner::set_playing(bool playing) {
    shared_->wanted = playing ? GST_STATE_PLAYING : GST_STATE_NULL;
    queue_change();
}

void PipelineRunner::queue_change() {
    ++shared_->changes_queued;
    // Each queued change applies the newest wish when it runs, so their order does not matter.
    gst_element_call_async(
        shared_->pipeline,
        [](GstElement *, gpointer data) {
            auto &shared = *static_cast<std::shared_ptr<Shared> *>(data);
            shared->apply();
            --shared->changes_queued;
        },
        new std::shared_ptr<Shared>(shared_),
        [](gpointer data) { delete static_cast<std::shared_ptr<Shared> *>(data); });
}

} // namespace vmcast::web
