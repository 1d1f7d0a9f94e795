namespace Xen.Rings.Vchan;

/// <summary>Which end of a vchan this process is.</summary>
public enum VchanRole
{
    /// <summary>The server: shares the pages, reads <c>left</c> and writes <c>right</c>.</summary>
    Server,

    /// <summary>The client: maps the server's pages, writes <c>left</c> and reads <c>right</c>.</summary>
    Client,
}
