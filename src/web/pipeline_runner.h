// Starts and stops a GStreamer pipeline off the main thread.
//
// pipewiresrc's start waits until its PipeWire stream runs, and that takes vmcast's own stream,
// which this process's main loop drives: a start on the main thread waits for itself (30 s,
// then "not-negotiated"). A stop may wait for an unfinished start. So every state change runs
// on a GStreamer worker thread, one at a time, and always applies the newest wish.
#pragma once

#include <gst/gst.h>

#include <memory>
#include <string>

namespace vmcast::web {

class PipelineRunner {
  public:
    // Keeps a reference to pipeline until the last state change has been applied.
    PipelineRunner(GstElement *pipeline, std::string name);
    PipelineRunner(const PipelineRunner &) = delete;
    PipelineRunner &operator=(const PipelineRunner &) = delete;
    // Stops the pipeline: at once when no change is under way, else right after it.
    ~PipelineRunner();

    // Returns at once; the pipeline follows soon after.
    void set_playing(bool playing);

  private:
    struct Shared;
    void queue_change();

    std::shared_ptr<Shared> shared_;
};

} // namespace vmcast::web
