// The tests run Xen programs and shell stand-ins: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
