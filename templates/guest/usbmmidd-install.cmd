@echo off
rem Installs the usbmmidd virtual display and keeps its monitor across reboots.
setlocal
set SRC=%~dp0usbmmidd
set DEST=%ProgramData%\vm\usbmmidd
if not exist "%DEST%" mkdir "%DEST%"
xcopy /y /q "%SRC%\*" "%DEST%\" >nul || exit /b 1
pushd "%DEST%"
deviceinstaller64 install usbmmidd.inf usbmmidd || goto failed
deviceinstaller64 enableidd 1 || goto failed
popd
rem usbmmidd loses its monitor on reboot: add it again at every logon.
schtasks /Create /F /TN "vm\usbmmidd enableidd" /SC ONLOGON /RU SYSTEM /RL HIGHEST /TR "\"%DEST%\deviceinstaller64.exe\" enableidd 1" || exit /b 1
exit /b 0
:failed
popd
echo usbmmidd: deviceinstaller64 failed 1>&2
exit /b 1
