// The GPU path's bookkeeping, checked without a GPU: the attributes vmcast hands to wlroots'
// EGL import, and the refusal that sends a DMA-BUF to the CPU path when the renderer cannot
// import (here wlroots' own pixman renderer, which has no DMA-BUF import).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "compositor/dmabuf_import.h"
#include "compositor/wlr.h"
#include "frame/dmabuf_frame.h"

namespace vmcast::compositor {
namespace {

frame::DmabufPlane memfd_plane(size_t size, uint32_t offset, uint32_t stride) {
    UniqueFd fd(memfd_create("test-dmabuf", MFD_CLOEXEC));
    EXPECT_EQ(ftruncate(fd.get(), off_t(size)), 0);
    return {std::move(fd), offset, stride};
}

ino_t inode_of(int fd) {
    struct stat file {};
    EXPECT_EQ(fstat(fd, &file), 0);
    return file.st_ino;
}

TEST(DmabufImport, AttributesCarryEveryPlaneWithDuplicatedFds) {
    std::vector<frame::DmabufPlane> planes;
    planes.push_back(memfd_plane(64 * 48 + 64 * 24, 0, 64));
    planes.push_back(memfd_plane(64 * 48 + 64 * 24, 64 * 48, 64));
    const frame::DmabufLayout layout{
        frame::drm_fourcc::nv12, 0x0100000000000001ULL, 64, 48, {0, 0, 64, 48}, false};
    wlr_dmabuf_attributes attributes{};
    ASSERT_TRUE(fill_dmabuf_attributes(planes, layout, attributes));
    EXPECT_EQ(attributes.width, 64);
    EXPECT_EQ(attributes.height, 48);
    EXPECT_EQ(attributes.format, frame::drm_fourcc::nv12);
    EXPECT_EQ(attributes.modifier, 0x0100000000000001ULL);
    ASSERT_EQ(attributes.n_planes, 2);
    EXPECT_EQ(attributes.offset[1], 64u * 48);
    EXPECT_EQ(attributes.stride[1], 64u);
    for (int i = 0; i < 2; i++) {
        // A duplicate: the same file under a new number, which the buffer owns.
        EXPECT_NE(attributes.fd[i], planes[size_t(i)].fd.get());
        EXPECT_EQ(inode_of(attributes.fd[i]), inode_of(planes[size_t(i)].fd.get()));
    }
    const int first_fd = attributes.fd[0];
    wlr_dmabuf_attributes_finish(&attributes);
    EXPECT_EQ(fcntl(first_fd, F_GETFD), -1);
}

TEST(DmabufImport, RendererWithoutDmabufImportRefusesSoTheCpuPathIsUsed) {
    wlr_renderer *renderer = wlr_pixman_renderer_create();
    ASSERT_NE(renderer, nullptr);
    {
        DmabufImports imports(renderer);
        std::vector<frame::DmabufPlane> planes;
        planes.push_back(memfd_plane(256 * 48, 0, 256));
        const frame::DmabufLayout layout{
            frame::drm_fourcc::xrgb8888, 0, 64, 48, {0, 0, 64, 48}, false};
        EXPECT_EQ(imports.import(planes, layout), nullptr);
    }
    wlr_renderer_destroy(renderer);
}

TEST(DmabufCheck, PlanesMustFitTheirFdsWhateverTheModifier) {
    const frame::DmabufLayout tiled{
        frame::drm_fourcc::xrgb8888, 0x0100000000000001ULL, 64, 48, {0, 0, 64, 48}, false};
    std::vector<frame::DmabufPlane> planes;
    planes.push_back(memfd_plane(1000, 0, 256));
    EXPECT_TRUE(frame::check_dmabuf(planes, tiled));
    planes.clear();
    planes.push_back(memfd_plane(256 * 48, 0, 256));
    EXPECT_FALSE(frame::check_dmabuf(planes, tiled));
    const frame::DmabufLayout outside{
        frame::drm_fourcc::xrgb8888, 0, 64, 48, {8, 0, 64, 48}, false};
    EXPECT_TRUE(frame::check_dmabuf(planes, outside));
    const frame::DmabufLayout nv12{frame::drm_fourcc::nv12, 0, 64, 48, {0, 0, 64, 48}, false};
    EXPECT_TRUE(frame::check_dmabuf(planes, nv12)); // one plane for a two-plane format
}

} // namespace
} // namespace vmcast::compositor
