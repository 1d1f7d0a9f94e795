namespace Xen.Rings.Blkif;

/// <summary>Constants of <c>xen/io/blkif.h</c> and <c>xen/io/protocols.h</c>.</summary>
public static class BlkifConstants
{
    /// <summary><c>BLKIF_MAX_SEGMENTS_PER_REQUEST</c>.</summary>
    public const int MaxSegmentsPerRequest = 11;

    /// <summary><c>BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST</c>.</summary>
    public const int MaxIndirectPagesPerRequest = 8;

    /// <summary>The unit of <c>sector_number</c>, <c>first_sect</c> and <c>last_sect</c>: always 512 bytes.</summary>
    public const int SectorSize = 512;

    /// <summary>Sectors in one 4 KiB page (the largest <c>last_sect</c> is this minus one).</summary>
    public const int SectorsPerPage = 4096 / SectorSize;

    /// <summary><c>BLKIF_DISCARD_SECURE</c>, the discard request's <c>flag</c> bit.</summary>
    public const byte DiscardSecure = 1;

    /// <summary><c>XEN_IO_PROTO_ABI_X86_32</c>: the <c>protocol</c> key of a 32-bit x86 front end.</summary>
    public const string ProtocolX86_32 = "x86_32-abi";

    /// <summary><c>XEN_IO_PROTO_ABI_X86_64</c>: the <c>protocol</c> key of a 64-bit x86 front end.</summary>
    public const string ProtocolX86_64 = "x86_64-abi";

    /// <summary><c>XEN_IO_PROTO_ABI_ARM</c>: the <c>protocol</c> key of an Arm front end.</summary>
    public const string ProtocolArm = "arm-abi";

    /// <summary><c>VDISK_CDROM</c> bit of the backend's <c>info</c> key.</summary>
    public const int VdiskCdrom = 0x1;

    /// <summary><c>VDISK_REMOVABLE</c> bit of the backend's <c>info</c> key.</summary>
    public const int VdiskRemovable = 0x2;

    /// <summary><c>VDISK_READONLY</c> bit of the backend's <c>info</c> key.</summary>
    public const int VdiskReadOnly = 0x4;
}
