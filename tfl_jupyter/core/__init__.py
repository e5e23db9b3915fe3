"""The core: conversion, .tflite reading, op support rules. Imports neither IPython nor ipywidgets."""
