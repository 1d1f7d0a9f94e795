using Xen.Rings.Console;
using Xen.Rings.Memory;

namespace Xen.Rings.Tests;

public class SharedPageTests
{
    [Fact]
    public void Two_mappings_of_one_file_see_each_others_ring_writes()
    {
        string path = Path.Combine(Path.GetTempPath(), $"xr-page-{Guid.NewGuid():N}");
        try
        {
            using var a = SharedPage.MapFile(path, create: true);
            using var b = SharedPage.MapFile(path);
            new ConsoleFrontend(a.GetSpan()).Write("shared"u8);
            byte[] buf = new byte[8];
            Assert.Equal(6, new ConsoleBackend(b.GetSpan()).Read(buf));
            Assert.Equal("shared"u8.ToArray(), buf[..6]);
            Assert.Equal(4096, new FileInfo(path).Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public unsafe void Allocate_returns_zeroed_page_aligned_memory()
    {
        using var page = SharedPage.Allocate(8192);
        Assert.Equal(8192, page.Length);
        Assert.All(page.GetSpan().ToArray(), b => Assert.Equal(0, b));
        using var pin = page.Memory.Pin();
        Assert.Equal(0, (long)pin.Pointer % 4096);
    }

    [Fact]
    public void Bad_sizes_and_missing_files_are_argument_errors()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SharedPage.Allocate(100));
        Assert.Throws<FileNotFoundException>(() => SharedPage.MapFile("/nonexistent/xr-page"));
    }
}
