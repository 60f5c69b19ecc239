# Sets the virtual display ({{DISPLAY_MATCH}}) to {{WIDTH}}x{{HEIGHT}} and makes it the primary
# display, so a streaming host (Parsec) captures it. Run as the logged-on user or as SYSTEM.
param([int]$Width = {{WIDTH}}, [int]$Height = {{HEIGHT}}, [string]$Match = '{{DISPLAY_MATCH}}')
$ErrorActionPreference = 'Stop'
Add-Type -TypeDefinition @'
using System;
using System.Runtime.InteropServices;
public static class VmDisplay {
    [StructLayout(LayoutKind.Sequential, CharSet = CharSet.Unicode)]
    public struct DISPLAY_DEVICE {
        public int cb;
        [MarshalAs(UnmanagedType.ByValTStr, SizeConst = 32)] public string DeviceName;
        [MarshalAs(UnmanagedType.ByValTStr, SizeConst = 128)] public string DeviceString;
        public int StateFlags;
        [MarshalAs(UnmanagedType.ByValTStr, SizeConst = 128)] public string DeviceID;
        [MarshalAs(UnmanagedType.ByValTStr, SizeConst = 128)] public string DeviceKey;
    }
    [StructLayout(LayoutKind.Sequential, CharSet = CharSet.Unicode)]
    public struct DEVMODE {
        [MarshalAs(UnmanagedType.ByValTStr, SizeConst = 32)] public string dmDeviceName;
        public short dmSpecVersion, dmDriverVersion, dmSize, dmDriverExtra;
        public int dmFields, dmPositionX, dmPositionY, dmDisplayOrientation, dmDisplayFixedOutput;
        public short dmColor, dmDuplex, dmYResolution, dmTTOption, dmCollate;
        [MarshalAs(UnmanagedType.ByValTStr, SizeConst = 32)] public string dmFormName;
        public short dmLogPixels;
        public int dmBitsPerPel, dmPelsWidth, dmPelsHeight, dmDisplayFlags, dmDisplayFrequency;
        public int dmICMMethod, dmICMIntent, dmMediaType, dmDitherType, dmReserved1, dmReserved2, dmPanningWidth, dmPanningHeight;
    }
    [DllImport("user32.dll", CharSet = CharSet.Unicode)]
    public static extern bool EnumDisplayDevices(string device, int index, ref DISPLAY_DEVICE info, int flags);
    [DllImport("user32.dll", CharSet = CharSet.Unicode)]
    public static extern bool EnumDisplaySettings(string device, int mode, ref DEVMODE devMode);
    [DllImport("user32.dll", CharSet = CharSet.Unicode)]
    public static extern int ChangeDisplaySettingsEx(string device, ref DEVMODE devMode, IntPtr hwnd, int flags, IntPtr param);
    [DllImport("user32.dll", CharSet = CharSet.Unicode)]
    public static extern int ChangeDisplaySettingsEx(string device, IntPtr devMode, IntPtr hwnd, int flags, IntPtr param);
}
'@
$ATTACHED = 0x1; $PRIMARY = 0x4
$DM_POSITION = 0x20; $DM_PELSWIDTH = 0x80000; $DM_PELSHEIGHT = 0x100000
$CDS_UPDATEREGISTRY = 0x1; $CDS_NORESET = 0x10000000; $CDS_SET_PRIMARY = 0x10
$ENUM_CURRENT = -1

function Get-Displays {
    $list = @()
    for ($i = 0; ; $i++) {
        $d = New-Object VmDisplay+DISPLAY_DEVICE
        $d.cb = [Runtime.InteropServices.Marshal]::SizeOf($d)
        if (-not [VmDisplay]::EnumDisplayDevices($null, $i, [ref]$d, 0)) { break }
        if ($d.StateFlags -band $ATTACHED) { $list += $d }
    }
    $list
}

$displays = @(Get-Displays)
$virtual = $displays | Where-Object { $_.DeviceString -match $Match } | Select-Object -First 1
if (-not $virtual) {
    Write-Error "no attached display matches '$Match' (displays: $(($displays | ForEach-Object DeviceString) -join ', '))"
    exit 2
}
# The virtual display goes to (0,0) as primary; every other display moves to its right.
$offset = $Width
foreach ($d in $displays) {
    $mode = New-Object VmDisplay+DEVMODE
    $mode.dmSize = [Runtime.InteropServices.Marshal]::SizeOf($mode)
    [void][VmDisplay]::EnumDisplaySettings($d.DeviceName, $ENUM_CURRENT, [ref]$mode)
    $flags = $CDS_UPDATEREGISTRY -bor $CDS_NORESET
    if ($d.DeviceName -eq $virtual.DeviceName) {
        $mode.dmPelsWidth = $Width; $mode.dmPelsHeight = $Height
        $mode.dmPositionX = 0; $mode.dmPositionY = 0
        $mode.dmFields = $DM_POSITION -bor $DM_PELSWIDTH -bor $DM_PELSHEIGHT
        $flags = $flags -bor $CDS_SET_PRIMARY
    } else {
        $mode.dmPositionX = $offset; $mode.dmPositionY = 0
        $mode.dmFields = $DM_POSITION
        $offset += $mode.dmPelsWidth
    }
    $result = [VmDisplay]::ChangeDisplaySettingsEx($d.DeviceName, [ref]$mode, [IntPtr]::Zero, $flags, [IntPtr]::Zero)
    if ($result -ne 0) { Write-Error "ChangeDisplaySettingsEx($($d.DeviceName)) returned $result"; exit 3 }
}
# Apply everything staged above at once.
[void][VmDisplay]::ChangeDisplaySettingsEx($null, [IntPtr]::Zero, [IntPtr]::Zero, 0, [IntPtr]::Zero)
Write-Output "primary display: $($virtual.DeviceString) at $($Width)x$($Height)"
