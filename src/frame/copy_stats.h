// What vmcast copies on the frame path, counted for the whole process, so a user (the exit
// summary) and the benchmark can see bytes copied against bytes QEMU said had changed.
#pragma once

#include <cstdint>
#include <string>

namespace vmcast::frame {

struct CopyStats {
    uint64_t damaged_bytes = 0;    // changed pixels QEMU reported, 4 bytes each
    uint64_t converted_bytes = 0;  // written into vmcast's own picture (Scanout/Update pixels)
    uint64_t composited_bytes = 0; // drawn by the compositor (what each buffer lacked)
    uint64_t exported_bytes = 0;   // read back from the GPU into shared-memory buffers
    uint64_t buffers_queued = 0;   // PipeWire buffers handed to consumers
    uint64_t camera_bytes = 0;     // copied from camera nodes' pictures into their buffers
    uint64_t camera_buffers_queued = 0;

    uint64_t copied_bytes() const {
        return converted_bytes + composited_bytes + exported_bytes + camera_bytes;
    }
    // One line for people: bytes copied against bytes damaged, stage by stage.
    std::string summary() const;
};

// The process's counters; vmcast runs its frame path on one thread.
CopyStats &copy_stats();

} // namespace vmcast::frame
