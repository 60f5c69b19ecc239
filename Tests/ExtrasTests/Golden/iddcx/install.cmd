@echo off
rem vm extras for win11: run from the extras CD as administrator
rem (`vm extras install win11` does so through the guest agent).
setlocal
set EXTRAS=%~dp0
set STATE=%ProgramData%\vm
if not exist "%STATE%" mkdir "%STATE%"
set RESULT=0
echo Installing the IddCx virtual display driver
call "%EXTRAS%iddcx-install.cmd" || set RESULT=1
echo Making the virtual display primary at 2560x1440
powershell -NoProfile -ExecutionPolicy Bypass -File "%EXTRAS%set-display.ps1" || set RESULT=1
exit /b %RESULT%
