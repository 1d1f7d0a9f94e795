using System.Buffers;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace Xen.Rings.Memory;

/// <summary>
/// Memory for a ring that lives outside the managed heap: a page-aligned native allocation, or a file mapped
/// shared (a page file under <c>/dev/shm</c>, or the page files of <c>../shared/peers</c>), so another process
/// sees the same bytes. Exposes the memory as <see cref="Memory{T}"/> and <see cref="Span{T}"/> for the ring views.
/// </summary>
/// <remarks>
/// The memory never moves, so pinning it (as <see cref="SharedRing.FrontRing{TRequest, TResponse}"/> does) is free.
/// Dispose to unmap or free it; no view may be used afterwards.
/// </remarks>
public sealed unsafe class SharedPage : MemoryManager<byte>
{
    private readonly MemoryMappedFile? _file;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _pointer;
    private readonly int _length;

    private SharedPage(byte* pointer, int length, MemoryMappedFile? file, MemoryMappedViewAccessor? view)
    {
        _pointer = pointer;
        _length = length;
        _file = file;
        _view = view;
    }

    /// <summary>The size of a Xen page.</summary>
    public const int PageSize = 4096;

    /// <summary>Allocates zeroed, page-aligned native memory (not shared with other processes).</summary>
    /// <param name="byteCount">The size; a positive multiple of 4096.</param>
    /// <exception cref="ArgumentOutOfRangeException">The size is not a positive multiple of 4096.</exception>
    public static SharedPage Allocate(int byteCount = PageSize)
    {
        CheckSize(byteCount);
        byte* p = (byte*)NativeMemory.AlignedAlloc((nuint)byteCount, PageSize);
        NativeMemory.Clear(p, (nuint)byteCount);
        return new SharedPage(p, byteCount, null, null);
    }

    /// <summary>
    /// Maps <paramref name="path"/> read-write and shared. With <paramref name="create"/>, a missing file is
    /// created zero-filled; a shorter file is extended to <paramref name="byteCount"/>.
    /// </summary>
    /// <param name="path">The file, e.g. <c>/dev/shm/my-ring</c>.</param>
    /// <param name="byteCount">The size to map; a positive multiple of 4096.</param>
    /// <param name="create">Whether to create or extend the file.</param>
    /// <exception cref="ArgumentOutOfRangeException">The size is not a positive multiple of 4096.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist and <paramref name="create"/> is false.</exception>
    /// <exception cref="ArgumentException">The file is shorter than <paramref name="byteCount"/> and <paramref name="create"/> is false.</exception>
    public static SharedPage MapFile(string path, int byteCount = PageSize, bool create = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckSize(byteCount);
        if (!create)
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new FileNotFoundException($"No page file at '{path}'.", path);
            }

            if (info.Length < byteCount)
            {
                throw new ArgumentException($"'{path}' has {info.Length} bytes; a mapping of {byteCount} needs at least that many.", nameof(path));
            }
        }

        using var stream = new FileStream(path, create ? FileMode.OpenOrCreate : FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        if (stream.Length < byteCount)
        {
            stream.SetLength(byteCount);
        }

        var file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
        MemoryMappedViewAccessor? view = null;
        try
        {
            view = file.CreateViewAccessor(0, byteCount, MemoryMappedFileAccess.ReadWrite);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            return new SharedPage(p + view.PointerOffset, byteCount, file, view);
        }
        catch
        {
            view?.Dispose();
            file.Dispose();
            throw;
        }
    }

    /// <summary>The size in bytes.</summary>
    public int Length => _length;

    /// <summary>The memory as a span.</summary>
    /// <exception cref="ObjectDisposedException">The page was disposed.</exception>
    public override Span<byte> GetSpan()
    {
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        return new Span<byte>(_pointer, _length);
    }

    /// <inheritdoc/>
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)_length, nameof(elementIndex));
        return new MemoryHandle(_pointer + elementIndex);
    }

    /// <inheritdoc/>
    public override void Unpin()
    {
    }

    /// <summary>Unmaps or frees the memory. Views over it must not be used afterwards.</summary>
    public void Dispose() => ((IDisposable)this).Dispose();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (_pointer == null)
        {
            return;
        }

        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file!.Dispose();
        }
        else
        {
            NativeMemory.AlignedFree(_pointer);
        }

        _pointer = null;
    }

    private static void CheckSize(int byteCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(byteCount);
        if (byteCount % PageSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(byteCount), byteCount, "A shared page's size must be a multiple of 4096.");
        }
    }
}
