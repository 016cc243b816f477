// A viewer's microphone in its console's encoder pipeline: the page's Opus track, which arrives
// on the viewer's webrtcbin as a new pad (on a streaming thread), depayloaded, decoded and
// converted to the format QEMU records in, into the VM's Microphone as this viewer's sound.
// Whether that sound reaches the VM is the Microphone's to say: one viewer's at a time.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/microphone.h"

namespace vmcast::web {

class MicrophoneBranch {
  public:
    // Adds the branch to webrtc's pipeline, playing, and links webrtcbin's audio pad to it when
    // the page's track arrives. nullptr and a reason in error when an element is missing.
    static std::unique_ptr<MicrophoneBranch> create(GstElement *webrtc,
                                                    std::shared_ptr<Microphone> microphone,
                                                    uint64_t viewer, std::string &error);
    MicrophoneBranch(const MicrophoneBranch &) = delete;
    MicrophoneBranch &operator=(const MicrophoneBranch &) = delete;
    // Stops and removes the branch; webrtcbin must be stopped first (it links no pad after).
    ~MicrophoneBranch();

    // Whether object (a bus message's source) is inside a microphone branch.
    static bool owns(GstObject *object);

  private:
    MicrophoneBranch(GstBin *pipeline, GstElement *bin) : pipeline_(pipeline), bin_(bin) {}

    GstBin *pipeline_; // a reference
    GstElement *bin_;  // owned by the pipeline
};

} // namespace vmcast::web
