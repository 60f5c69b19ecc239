@echo off
rem Removes the usbmmidd virtual display and its logon task.
setlocal
set DEST=%ProgramData%\vm\usbmmidd
schtasks /Delete /F /TN "vm\usbmmidd enableidd"
if exist "%DEST%\deviceinstaller64.exe" (
    pushd "%DEST%"
    deviceinstaller64 enableidd 0
    deviceinstaller64 stop usbmmidd
    deviceinstaller64 remove usbmmidd
    popd
)
exit /b 0
